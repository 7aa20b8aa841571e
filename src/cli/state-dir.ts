/**
 * The CLI's state directory: where the library keeps its run journal so that
 * a killed run can be resumed. By default one per output file, next to it.
 */
import { existsSync, readFileSync, readdirSync, rmSync, rmdirSync } from 'node:fs';
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

/**
 * True when the journal records a finished run. Such a run's output is whole;
 * the same command again means a new run, not a resume.
 */
export function journalCompleted(dir: string): boolean {
  const path = join(dir, JOURNAL_FILE);
  if (!existsSync(path)) return false;
  return readFileSync(path, 'utf8').split('\n').some((l) => l === '{"t":"complete"}');
}

/** Forget a finished run: only the files the library keeps there are removed. */
export function resetState(dir: string): void {
  rmSync(join(dir, JOURNAL_FILE), { force: true });
  rmSync(join(dir, 'results'), { recursive: true, force: true });
}

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
