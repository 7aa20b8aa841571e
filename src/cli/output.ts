/**
 * OUT: the results file (or stdout). On resume it is cut back to its last
 * complete line and appended to, so that a killed run plus its rerun write
 * exactly the bytes of one uninterrupted run.
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, fstatSync, createWriteStream, existsSync, fsyncSync, ftruncateSync, openSync, readSync } from 'node:fs';
import { dirname } from 'node:path';
import { Transform, type TransformCallback, type Writable } from 'node:stream';
import { makeDirs } from '../internal/io/make-dirs.js';
import { CliUsageError } from './errors.js';

export interface CompleteLines {
  /** Lines ending in '\n'. */
  lines: number;
  /** Bytes up to and including the last '\n'. */
  bytes: number;
  /** sha256 of those bytes, still open: a resumed run goes on hashing what it appends. */
  hash: Hash;
  /** Bytes in the file, a torn last line included. */
  size: number;
}

/**
 * Count the complete lines of a file (a torn last line from a kill does not
 * count), hashing them on the way; with `maxLines`, only the first ones (a
 * resume that must send again what OUT has lines for from there: after a
 * budget stop, those lines are BUDGET_EXCEEDED). `size` is the whole file's.
 */
export function countCompleteLines(path: string, maxLines = Infinity): CompleteLines {
  let hash = createHash('sha256');
  if (!existsSync(path)) return { lines: 0, bytes: 0, hash, size: 0 };
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.allocUnsafe(1 << 20);
    let pos = 0;
    let lines = 0;
    let bytes = 0;
    // The hash of the bytes up to the last '\n' seen: a copy taken at each read that has one.
    let atLastLine = hash.copy();
    for (let n = readSync(fd, buf, 0, buf.length, pos); n > 0 && lines < maxLines; n = readSync(fd, buf, 0, buf.length, pos)) {
      let last = -1;
      for (let i = buf.indexOf(0x0a); i !== -1 && i < n && lines < maxLines; i = buf.indexOf(0x0a, i + 1)) {
        lines++;
        last = i;
      }
      if (last >= 0) {
        hash.update(buf.subarray(0, last + 1));
        atLastLine = hash.copy();
        bytes = pos + last + 1;
        hash.update(buf.subarray(last + 1, n));
      } else {
        hash.update(buf.subarray(0, n));
      }
      pos += n;
    }
    hash = atLastLine;
    return { lines, bytes, hash, size };
  } finally {
    closeSync(fd);
  }
}

/** Length and sha256 of what goes to OUT, computed as it is written (no second read of a huge file). */
export class OutputDigest {
  private readonly hash: Hash;
  bytes: number;

  constructor(prefix?: CompleteLines) {
    this.hash = prefix?.hash ?? createHash('sha256');
    this.bytes = prefix?.bytes ?? 0;
  }

  stage(): Transform {
    // Byte mode, so what waits here is bounded in bytes: 256 lines in object mode
    // were 256 MB when each answer carries a 1 MB image. 64 KiB, not more: a line
    // queued across two young GCs is promoted, and dead in old space it waits for
    // a full GC; with 1 MiB here and on the file, 6-10 MB of such lines piled up
    // while results were written (bench/README, "V8 flags, glibc and start-up", setting 7).
    return new Transform({
      highWaterMark: 64 << 10,
      transform: (line: Buffer, _enc: BufferEncoding, cb: TransformCallback) => {
        this.hash.update(line);
        this.bytes += line.length;
        cb(null, line);
      },
    });
  }

  result(): { bytes: number; sha256: string } {
    return { bytes: this.bytes, sha256: this.hash.digest('hex') };
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
    makeDirs(dirname(path));
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
  // 64 KiB of lines waiting, as in the digest stage above.
  const stream = createWriteStream(path, { flags: 'a', highWaterMark: 64 << 10 });
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
