/**
 * INPUT (a path, or - for stdin) → a stream of records. JSONL unless the first
 * non-blank byte is `[`, which makes it a JSON array.
 */
import { createReadStream, openSync, fstatSync, closeSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { CliUsageError } from './errors.js';
import { readJsonArray } from './json-array-reader.js';
import { readJsonl } from './jsonl-reader.js';
import { peekFirstByte } from './peek.js';

export type InputFormat = 'jsonl' | 'json-array';

export interface OpenedInput {
  records: Readable;
  format: InputFormat;
  /** Errors name line numbers (JSONL: line N is record N-1). */
  lineNumbers: boolean;
  /** Emitted once every record has been read (for the ETA). */
  done: Promise<void>;
}

/** Open the file now, so a missing or unreadable INPUT is a usage error before anything starts. */
function openFile(path: string): Readable {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new CliUsageError(`cannot read INPUT ${path}: ${why}`);
  }
  if (fstatSync(fd).isDirectory()) {
    closeSync(fd);
    throw new CliUsageError(`INPUT ${path} is a directory; give a JSONL or JSON array file (or - for stdin)`);
  }
  return createReadStream(path, { fd, highWaterMark: 256 * 1024 });
}

export interface OpenInputOptions {
  maxLineChars?: number;
  /** JSONL lines go on unparsed (see readJsonl); JSON array elements are always objects. */
  rawLines?: boolean;
  stdin?: Readable;
}

export async function openInput(path: string, opts: OpenInputOptions = {}): Promise<OpenedInput> {
  const source = path === '-' ? (opts.stdin ?? process.stdin) : openFile(path);
  const name = path === '-' ? 'stdin' : path;
  const first = await peekFirstByte(source);
  const format: InputFormat = first === 0x5b /* [ */ ? 'json-array' : 'jsonl';
  const records = format === 'json-array' ? readJsonArray(source, { name }) : readJsonl(source, { name, maxLineChars: opts.maxLineChars, raw: opts.rawLines });
  const done = new Promise<void>((resolve) => {
    records.once('end', resolve);
    records.once('close', resolve);
  });
  return { records, format, lineNumbers: format === 'jsonl', done };
}
