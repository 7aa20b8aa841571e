/**
 * OUT is replaced only by a run that succeeded: results go to `OUT.partial`
 * beside it (the file a resume goes on from) and are renamed over OUT at the
 * end. A run that is refused or fails leaves a finished OUT and its journal
 * as they were, so the command that made them still finds them complete.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { archiveJournal, JOURNAL_FILE, readJournal, spentAnything } from '../journal/journal.js';
import { CliUsageError } from './errors.js';
import { isGzipPath } from './gzip.js';
import { gzipInto } from './out-file.js';
import { SETTINGS_FILE } from './run-state.js';

/** Where a run writes OUT's lines until it has finished. */
export function partialPathOf(out: string): string {
  return `${out}.partial`;
}

/**
 * An existing, non-empty OUT that no journal in `stateDir` accounts for was
 * not written by this tool (the source CSV, last month's results): never
 * overwritten without --overwrite.
 */
export function refuseForeignOut(out: string, stateDir: string, overwrite: boolean): void {
  if (overwrite || !existsSync(out)) return;
  const st = statSync(out);
  if (!st.isFile() || st.size === 0) return;
  if (readJournal(stateDir)?.runId !== undefined) return;
  throw new CliUsageError(`OUT ${out} already exists and was not written by a run of gemini-batch; add --overwrite to replace it, or give -o another file`);
}

/**
 * Move OUT.partial over OUT (gzipped on the way when OUT ends in .gz: the
 * partial is always plain, so a resume can count and cut its lines), and make
 * the rename durable (best effort on the directory).
 */
export async function publishOut(partial: string, out: string): Promise<void> {
  if (isGzipPath(out)) await gzipInto(partial, out);
  else renameSync(partial, out);
  try {
    const fd = openSync(dirname(out), 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some filesystems cannot fsync a directory; the rename itself is atomic.
  }
}

export interface Restart {
  /** The archived journal's path, if there was one. */
  archived: string | undefined;
  /**
   * Call when the new run failed or was refused: if it spent nothing, a
   * completed run's journal and settings are put back exactly as they were
   * (so the command that made them still says "nothing to do"), and the
   * partial output it left is removed. Returns whether it put them back.
   */
  undo(partial: string | undefined): boolean;
}

/** Archive the state dir's journal for a new run, keeping what `undo` needs. */
export function archiveForRestart(stateDir: string): Restart {
  const before = readJournal(stateDir);
  const settingsPath = join(stateDir, SETTINGS_FILE);
  const settings = existsSync(settingsPath) ? readFileSync(settingsPath) : undefined;
  const archived = archiveJournal(stateDir);
  // Only a completed journal is put back: an unfinished one's kept results are gone with the archive.
  const completed = before?.completed === true && archived !== undefined;
  return {
    archived,
    undo(partial) {
      if (!completed) return false;
      const now = readJournal(stateDir);
      if (now && spentAnything(now)) return false; // the new run has paid work: its journal is the one to keep
      rmSync(join(stateDir, 'results'), { recursive: true, force: true });
      renameSync(archived, join(stateDir, JOURNAL_FILE));
      try {
        rmdirSync(dirname(archived)); // only when empty: earlier archives stay
      } catch {
        // Not empty.
      }
      if (settings) writeFileSync(settingsPath, settings);
      if (partial) rmSync(partial, { force: true });
      return true;
    },
  };
}
