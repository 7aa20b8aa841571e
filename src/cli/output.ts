/**
 * OUT: the results file (or stdout). On resume it is cut back to its last
 * complete line and appended to, so that a killed run plus its rerun write
 * exactly the bytes of one uninterrupted run.
 */
import { closeSync, createWriteStream, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import { CliUsageError } from './errors.js';

export interface CompleteLines {
  /** Lines ending in '\n'. */
  lines: number;
  /** Bytes up to and including the last '\n'. */
  bytes: number;
}

/** Count the complete lines of a file (a torn last line from a kill does not count). */
export function countCompleteLines(path: string): CompleteLines {
  if (!existsSync(path)) return { lines: 0, bytes: 0 };
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    let pos = 0;
    let lines = 0;
    let bytes = 0;
    for (let n = readSync(fd, buf, 0, buf.length, pos); n > 0; n = readSync(fd, buf, 0, buf.length, pos)) {
      for (let i = buf.indexOf(0x0a); i !== -1 && i < n; i = buf.indexOf(0x0a, i + 1)) {
        lines++;
        bytes = pos + i + 1;
      }
      pos += n;
    }
    return { lines, bytes };
  } finally {
    closeSync(fd);
  }
}

export interface OutputTarget {
  stream: Writable;
  /** Wait for the written bytes to be on disk, then close (idempotent). */
  finish(): void;
}

export function openOutput(path: string, resume?: CompleteLines): OutputTarget {
  if (path === '-') return { stream: process.stdout, finish: () => undefined };
  let fd: number;
  try {
    mkdirSync(dirname(path), { recursive: true });
    fd = openSync(path, resume ? 'a' : 'w');
  } catch (err) {
    throw new CliUsageError(`cannot write OUT ${path}: ${(err as Error).message}`);
  }
  // O_APPEND writes land at the end, which after this cut is just past the last full line.
  if (resume) ftruncateSync(fd, resume.bytes);
  const stream = createWriteStream(path, { fd, autoClose: false, highWaterMark: 1 << 20 });
  let closed = false;
  return {
    stream,
    finish() {
      if (closed) return;
      closed = true;
      try {
        fsyncSync(fd);
      } catch (err) {
        // /dev/null, a pipe or a terminal: nothing to make durable.
        if ((err as NodeJS.ErrnoException).code !== 'EINVAL' && (err as NodeJS.ErrnoException).code !== 'ENOTSUP') throw err;
      }
      closeSync(fd);
    },
  };
}
