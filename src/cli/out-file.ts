/**
 * A finished OUT on disk, gzipped (`-o out.jsonl.gz`) or not: read back as
 * lines, hashed, copied out plain, and written gzipped from a plain file.
 * Everything streams (64 KiB at a time under backpressure), so memory stays
 * flat whatever the size of OUT; only one line is ever held whole.
 *
 * A run always writes OUT.partial plain (a resume counts and cuts its lines);
 * only the published OUT is compressed, so its digest (the one a completed
 * journal records) is of the plain lines in both cases.
 */
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, createWriteStream, fsyncSync, openSync, renameSync, rmSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { countCompleteLines } from './output.js';
import { gunzipInput, isGzipPath } from './gzip.js';

/** The plain lines of a finished OUT as a run's completion records them. */
export interface OutDigest {
  /** Lines ending in '\n'. */
  lines: number;
  /** Plain bytes up to the last '\n'. */
  bytes: number;
  /** Plain bytes in all (a torn last line included): equal to `bytes` for an intact OUT. */
  size: number;
  /** sha256 (hex) of the first `bytes` bytes. */
  sha256: string;
}

/** OUT's plain bytes as a stream (decompressed when the name ends in .gz). */
export function readOut(path: string): Readable {
  const file = createReadStream(path, { highWaterMark: 64 << 10 });
  return isGzipPath(path) ? gunzipInput(file, path, 'OUT') : file;
}

/**
 * Split a byte stream into lines, each with its '\n'; a last line without one
 * is yielded as it is. A line longer than a chunk is gathered as a list of
 * pieces and joined once (no copy per chunk).
 */
export async function* splitLines(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let pieces: Buffer[] = [];
  for await (const chunk of source) {
    let from = 0;
    for (let nl = chunk.indexOf(0x0a); nl !== -1; nl = chunk.indexOf(0x0a, from)) {
      const tail = chunk.subarray(from, nl + 1);
      yield pieces.length ? Buffer.concat([...pieces, tail]) : tail;
      pieces = [];
      from = nl + 1;
    }
    if (from < chunk.length) pieces.push(chunk.subarray(from));
  }
  if (pieces.length) yield Buffer.concat(pieces);
}

/** The lines of OUT (plain or .gz), streamed; breaking out of the loop closes the file. */
export function outLines(path: string): AsyncGenerator<Buffer> {
  return splitLines(readOut(path));
}

/** Count and hash OUT's complete lines (a plain OUT as countCompleteLines does; a .gz one through gunzip). */
export async function digestOut(path: string): Promise<OutDigest> {
  if (!isGzipPath(path)) {
    const c = countCompleteLines(path);
    return { lines: c.lines, bytes: c.bytes, size: c.size, sha256: c.hash.digest('hex') };
  }
  const hash = createHash('sha256');
  let lines = 0;
  let bytes = 0;
  let size = 0;
  for await (const line of outLines(path)) {
    size += line.length;
    if (line[line.length - 1] !== 0x0a) continue; // a torn last line is not hashed, as countCompleteLines does
    hash.update(line);
    lines++;
    bytes += line.length;
  }
  return { lines, bytes, size, sha256: hash.digest('hex') };
}

/**
 * Copy OUT's plain bytes to `dest` (a resume's OUT.partial), decompressed
 * when OUT is .gz; through `dest.tmp` and a rename, so a crash never leaves a
 * `dest` with only some of OUT's lines.
 */
export async function copyOutPlain(path: string, dest: string): Promise<void> {
  const tmp = `${dest}.tmp`;
  await pipeline(readOut(path), createWriteStream(tmp));
  renameSync(tmp, dest);
}

/**
 * `plain` gzipped into `out`: written to `out.tmp`, fsynced, renamed over
 * `out`, then `plain` removed. A crash before the rename leaves OUT as it was
 * and `plain` in place, so the rerun publishes again.
 */
export async function gzipInto(plain: string, out: string): Promise<void> {
  const tmp = `${out}.tmp`;
  await pipeline(createReadStream(plain, { highWaterMark: 64 << 10 }), createGzip({ chunkSize: 64 << 10 }), createWriteStream(tmp));
  const fd = openSync(tmp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, out);
  rmSync(plain, { force: true });
}
