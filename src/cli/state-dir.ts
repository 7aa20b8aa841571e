/**
 * The CLI's state directory: where the library keeps its run journal so that
 * a killed run can be resumed. By default one per output file, next to it.
 */
import { existsSync, readdirSync, rmSync, rmdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { JOURNAL_FILE } from '../journal/journal.js';

/** `<dir of OUT>/.gemini-batch/<basename OUT>/`: two outputs in one directory never share a journal. */
export function defaultStateDir(out: string): string {
  const abs = resolve(out);
  return join(dirname(abs), '.gemini-batch', basename(abs));
}

export function hasJournal(dir: string): boolean {
  return existsSync(join(dir, JOURNAL_FILE));
}

/** A finished run's output is whole: the same command again means a new run, not a resume. */
export { journalCompleted, resetJournal as resetState } from '../journal/journal.js';

/** Remove a default state dir after a finished run, and its .gemini-batch parent once empty. */
export function removeDefaultStateDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  const parent = dirname(dir);
  try {
    if (basename(parent) === '.gemini-batch' && readdirSync(parent).length === 0) rmdirSync(parent);
  } catch {
    // Another run may be using it: leaving an empty directory behind is harmless.
  }
}
