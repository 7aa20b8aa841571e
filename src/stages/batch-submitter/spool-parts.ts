/**
 * Files cut from a chunk's spool file when part of it must go again: the
 * halves of an EXPIRED batch, the requests of a retry round. Lines are
 * copied as bytes, never re-serialised.
 */
import type { Chunk } from '../../types.js';
import { forEachLineAsync } from '../../internal/io/lines.js';
import { SpoolFile } from '../../internal/io/spool-file.js';
import { isRetryableResultError, isSuccessLine, readLineKey, readResultError } from '../../internal/wire/wire-line.js';

const NEWLINE = Buffer.from('\n');

/** Copy the lines of `from` that `keep` selects (by 0-based line index) to `to`; resolves with how many. */
export async function copyLines(from: string, to: string, keep: (line: Buffer, index: number) => boolean): Promise<number> {
  const spool = new SpoolFile(to);
  const writes: Promise<void>[] = [];
  let index = 0;
  let kept = 0;
  await forEachLineAsync(from, (line) => {
    if (keep(line, index++)) {
      kept++;
      const w = spool.append(Buffer.concat([line, NEWLINE]));
      if (w) writes.push(w);
    }
  });
  await Promise.all(writes);
  await spool.close();
  return kept;
}

/**
 * Which requests of a chunk ended with a retryable error (isRetryableResultError:
 * gRPC 4, 8, 10, 13, 14, HTTP 408/429/5xx) or with no result line at all
 * (MISSING_RESULT), and no success in its results file so far: a flag per
 * record of the chunk.
 */
export async function retryableRequests(resultsPath: string, chunk: Pick<Chunk, 'firstSeq' | 'count'>): Promise<Uint8Array> {
  const failed = new Uint8Array(chunk.count);
  const ok = new Uint8Array(chunk.count);
  const seen = new Uint8Array(chunk.count);
  try {
    await forEachLineAsync(resultsPath, (line) => {
      const k = readLineKey(line);
      const i = k ? k.seq - chunk.firstSeq : -1;
      if (!k || i < 0 || i >= chunk.count) return;
      seen[i] = 1;
      if (isSuccessLine(line, k.keyEnd)) ok[i] = 1;
      else if (isRetryableResultError(readResultError(line))) failed[i] = 1;
    });
  } catch (err) {
    // No results file (a batch that answered nothing): every request is missing.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  // A request the service answered nothing for would be MISSING_RESULT: retryable too.
  for (let i = 0; i < failed.length; i++) failed[i] = ok[i] ? 0 : seen[i] ? failed[i]! : 1;
  return failed;
}

/** Copy the request lines whose records are flagged. */
export function copyFlaggedRequests(spoolPath: string, to: string, flags: Uint8Array, firstSeq: number): Promise<number> {
  return copyLines(spoolPath, to, (line) => {
    const k = readLineKey(line);
    return k !== undefined && flags[k.seq - firstSeq] === 1;
  });
}
