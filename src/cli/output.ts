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
  /**
   * Resolves once the stream has closed its file: after a normal end, the
   * bytes were fsynced first (a rejection says they could not be). Never
   * touches the fd itself, so it cannot race the stream's own close.
   */
  finish(): Promise<void>;
}

/** fsync of something that is not a file (/dev/null, a pipe) has nothing to make durable. */
const NOT_SYNCABLE = new Set(['EINVAL', 'ENOTSUP', 'EROFS']);

export function openOutput(path: string, resume?: CompleteLines): OutputTarget {
  if (path === '-') return { stream: process.stdout, finish: () => Promise.resolve() };
  try {
    mkdirSync(dirname(path), { recursive: true });
    // Created or cut back here, before any socket exists; the stream then owns its own fd.
    const fd = openSync(path, resume ? 'r+' : 'w');
    try {
      if (resume) ftruncateSync(fd, resume.bytes);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    throw new CliUsageError(`cannot write OUT ${path}: ${(err as Error).message}`);
  }
  // O_APPEND writes land at the end, which after the cut is just past the last full line.
  const stream = createWriteStream(path, { flags: 'a', highWaterMark: 1 << 20 });
  let syncError: Error | undefined;
  // 'finish' runs before the stream's automatic close: the fd is still ours to fsync.
  stream.once('finish', () => {
    try {
      const fd = (stream as unknown as { fd: number | null }).fd;
      if (typeof fd === 'number') fsyncSync(fd);
    } catch (err) {
      if (!NOT_SYNCABLE.has((err as NodeJS.ErrnoException).code ?? '')) syncError = err as Error;
    }
  });
  const closed = new Promise<void>((resolve) => {
    if (stream.closed) resolve();
    else stream.once('close', () => resolve());
  });
  return {
    stream,
    async finish() {
      if (!stream.destroyed && !stream.writableFinished) stream.destroy();
      await closed;
      if (syncError) throw syncError;
    },
  };
}
