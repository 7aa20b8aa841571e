/**
 * INPUT (a path, or - for stdin) → a stream of records. JSONL unless the first
 * non-blank byte is `[`, which makes it a JSON array. A path ending in .gz is
 * decompressed as it is read (`.jsonl.gz`, `.json.gz`).
 */
import { createReadStream, openSync, fstatSync, closeSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { CliUsageError } from './errors.js';
import { gunzipInput, isGzipPath } from './gzip.js';
import { readJsonArray } from './json-array-reader.js';
import { readJsonl, type JsonlStats } from './jsonl-reader.js';
import { peekFirstByte } from './peek.js';

export type InputFormat = 'jsonl' | 'json-array';

export interface OpenedInput {
  records: Readable;
  format: InputFormat;
  /** Errors name line numbers (JSONL: line N is record N-1). */
  lineNumbers: boolean;
  /** Emitted once every record has been read (for the ETA). */
  done: Promise<void>;
  /** Lines read and blank lines skipped (JSONL; zeros for a JSON array), for the summary. */
  stats: JsonlStats;
}

/** What a bad line's message adds when it stops the run. */
export const ON_INVALID_HINT = 'fix the line, or run with --on-invalid emit to get an error result for it and go on';

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
  const file = createReadStream(path, { fd, highWaterMark: 256 * 1024 });
  return isGzipPath(path) ? gunzipInput(file, path) : file;
}

export interface OpenInputOptions {
  maxLineChars?: number;
  /** Unused: JSONL lines always go on as bytes (see readJsonl); JSON array elements are always objects. */
  rawLines?: boolean;
  /** Appended to a bad line's message when it stops the run (default: ON_INVALID_HINT). */
  invalidHint?: string;
  stdin?: Readable;
}

export async function openInput(path: string, opts: OpenInputOptions = {}): Promise<OpenedInput> {
  const source = path === '-' ? (opts.stdin ?? process.stdin) : openFile(path);
  const name = path === '-' ? 'stdin' : path;
  const first = await peekFirstByte(source);
  const format: InputFormat = first === 0x5b /* [ */ ? 'json-array' : 'jsonl';
  const invalidHint = opts.invalidHint ?? ON_INVALID_HINT;
  const jsonl = format === 'jsonl' ? readJsonl(source, { name, maxLineChars: opts.maxLineChars, invalidHint }) : undefined;
  const records = jsonl ?? readJsonArray(source, { name, invalidHint });
  // The run attaches its pipeline only after connecting (starting an emulator takes a while): an
  // input error meanwhile must wait for it, not crash the process as an unhandled 'error' event.
  // The pipeline still sees the error (the stream is destroyed with it).
  records.on('error', () => {});
  const done = new Promise<void>((resolve) => {
    records.once('end', resolve);
    records.once('close', resolve);
  });
  return { records, format, lineNumbers: format === 'jsonl', done, stats: jsonl?.stats ?? { lines: 0, blankLines: 0 } };
}
