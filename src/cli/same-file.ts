/**
 * OUT is never INPUT: opening OUT for writing truncates it, and if it is the
 * input file (under another name, through a symlink or a hard link) the
 * records are gone before they are read. Compared by device and inode.
 */
import { fstatSync, statSync, type Stats } from 'node:fs';
import { CliUsageError } from './errors.js';

function statOrUndefined(get: () => Stats): Stats | undefined {
  try {
    return get();
  } catch {
    return undefined; // missing or unreadable: opening it reports that, in its own words
  }
}

/** Throws a usage error when OUT names the same file as INPUT (or as stdin, for INPUT `-`). */
export function refuseOutputOverInput(inputPath: string, outputPath: string): void {
  if (outputPath === '-') return;
  const out = statOrUndefined(() => statSync(outputPath));
  if (!out || !out.isFile()) return;
  const input = statOrUndefined(() => (inputPath === '-' ? fstatSync(0) : statSync(inputPath)));
  if (!input || input.dev !== out.dev || input.ino !== out.ino) return;
  const what = inputPath === '-' ? 'the file stdin reads from' : `INPUT ${inputPath}`;
  throw new CliUsageError(`OUT ${outputPath} is ${what} (the same file), and writing it would destroy the records before they are read; give -o another file`);
}
