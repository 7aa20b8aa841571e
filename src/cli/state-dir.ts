/**
 * The CLI's state directory: where the library keeps its run journal so that
 * a killed run can be resumed. By default one per output file, next to it.
 * It stays after a finished run: the completed journal is how the same
 * command again knows there is nothing left to do (the results it kept for a
 * resume are gone by then; only a few small files remain).
 */
import { basename, dirname, join, resolve } from 'node:path';

/** `<dir of OUT>/.gemini-batch/<basename OUT>/`: two outputs in one directory never share a journal. */
export function defaultStateDir(out: string): string {
  const abs = resolve(out);
  return join(dirname(abs), '.gemini-batch', basename(abs));
}
