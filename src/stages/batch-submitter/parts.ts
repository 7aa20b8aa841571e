/**
 * The unit stage 4 works on, a BatchPart: request lines of one chunk that go
 * to the service as one job, and what it is (the whole chunk, a half of an
 * EXPIRED part, a part cut to fit the quota, the rest of a part that came
 * back partly answered, a retry set). And the cuts that make new parts from
 * a part's spool file: plain line copies, never a parse.
 */
import { forEachLineAsync, SequentialLines } from '../../internal/io/lines.js';
import { SpoolFile } from '../../internal/io/spool-file.js';
import { estimateRequestTokens } from '../../internal/wire/token-estimate.js';
import { isRetryableResultError, isSuccessLine, readLineKey, readResultError } from '../../internal/wire/wire-line.js';
import type { BatchState } from '../../backend/types.js';
import type { Chunk, ResultError, UploadedChunk } from '../../types.js';

export type PartKind = 'whole' | 'half' | 'quota' | 'rest' | 'retry';

export interface BatchPart {
  kind: PartKind;
  /** The chunk the lines belong to (its journal entry, its events, its results file). */
  chunk: UploadedChunk;
  /** The request lines: the chunk's spool file, or a file cut from it. */
  spoolPath: string;
  /** The stored input (files/x, gs://…); undefined sends the lines inline. */
  inputRef?: string;
  /** Request lines in spoolPath. */
  lines: number;
  /** Names its jobs `<runId>-<label>` ('3', '3.a', '3.q0', '3.rest1', '3.retry1'); attempts add `-r<n>`. */
  label: string;
  /** Results of every part of a chunk are appended here: the demuxer matches by key. */
  resultsPath: string;
  /** How many times it was halved (an EXPIRED part is split again, up to a limit). */
  depth: number;
}

/** What a part ended as: results on disk (with the error its unanswered records get), or gone from the service. */
export type PartOutcome =
  | { kind: 'done'; state: BatchState; batchName: string; failure?: ResultError }
  /** The service no longer has the job or its input: the chunk is redone under its next attempt. */
  | { kind: 'gone'; reason: 'batch-gone' | 'upload-gone'; paid: boolean; message: string };

const NEWLINE = Buffer.from('\n');

/** Copy the lines `keep` accepts; resolves with how many. */
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

/** The two halves of a part, as files `<prefix>-a` and `-b`, with their line counts. */
export async function cutHalves(part: BatchPart, prefix: string): Promise<Array<{ path: string; lines: number; suffix: 'a' | 'b' }>> {
  const half = Math.ceil(part.lines / 2);
  const a = { path: `${prefix}-a`, lines: await copyLines(part.spoolPath, `${prefix}-a`, (_l, i) => i < half), suffix: 'a' as const };
  const b = { path: `${prefix}-b`, lines: await copyLines(part.spoolPath, `${prefix}-b`, (_l, i) => i >= half), suffix: 'b' as const };
  return [a, b];
}

export type LineTokenEstimator = (line: Buffer) => number;

export interface TokenPart {
  path: string;
  lines: number;
  tokens: number;
}

/**
 * Cut a spool file into consecutive parts of at most `partTokens` estimated
 * tokens each (a single larger line is a part of its own), as files
 * `<prefix>-<i>`.
 */
export async function cutByTokens(spoolPath: string, partTokens: number, prefix: string, estimate: LineTokenEstimator = estimateRequestTokens): Promise<TokenPart[]> {
  const parts: TokenPart[] = [];
  let spool: SpoolFile | undefined;
  let current: TokenPart | undefined;
  const closeCurrent = async () => {
    if (spool) await spool.close();
    spool = undefined;
    current = undefined;
  };
  const src = new SequentialLines(spoolPath);
  try {
    for (let line = src.next(); line; line = src.next()) {
      const t = estimate(line);
      if (current && current.lines > 0 && current.tokens + t > partTokens) await closeCurrent();
      if (!current) {
        current = { path: `${prefix}-${parts.length}`, lines: 0, tokens: 0 };
        parts.push(current);
        spool = new SpoolFile(current.path);
      }
      current.lines++;
      current.tokens += t;
      const w = spool!.append(Buffer.concat([line, NEWLINE]));
      if (w) await w;
    }
    await closeCurrent();
  } catch (err) {
    await spool?.abandon();
    throw err;
  } finally {
    src.close();
  }
  return parts;
}

/** Estimated tokens of every line of a spool file. */
export async function spoolTokens(spoolPath: string, estimate: LineTokenEstimator = estimateRequestTokens): Promise<number> {
  let total = 0;
  await forEachLineAsync(spoolPath, (line) => {
    total += estimate(line);
  });
  return total;
}

/** A flag per record of the chunk (indexed by seq - firstSeq) for the requests with no result line at all yet. */
export async function unansweredRequests(resultsPath: string, chunk: Pick<Chunk, 'firstSeq' | 'count'>): Promise<Uint8Array> {
  const flags = new Uint8Array(chunk.count).fill(1);
  await readResults(resultsPath, chunk, (i) => {
    flags[i] = 0;
  });
  return flags;
}

/**
 * A flag per record for the requests worth sending again: an error line with
 * a retryable status and no success line, or no line at all (it would be
 * MISSING_RESULT).
 */
export async function retryableRequests(resultsPath: string, chunk: Pick<Chunk, 'firstSeq' | 'count'>): Promise<Uint8Array> {
  const failed = new Uint8Array(chunk.count);
  const ok = new Uint8Array(chunk.count);
  const seen = new Uint8Array(chunk.count);
  await readResults(resultsPath, chunk, (i, line, keyEnd) => {
    seen[i] = 1;
    if (isSuccessLine(line, keyEnd)) ok[i] = 1;
    else if (isRetryableResultError(readResultError(line))) failed[i] = 1;
  });
  for (let i = 0; i < failed.length; i++) failed[i] = ok[i] ? 0 : seen[i] ? failed[i]! : 1;
  return failed;
}

/** Copy the lines of `spoolPath` whose record is flagged; resolves with how many. */
export function copyFlaggedRequests(spoolPath: string, to: string, flags: Uint8Array, firstSeq: number): Promise<number> {
  return copyLines(spoolPath, to, (line) => {
    const k = readLineKey(line);
    return k !== undefined && flags[k.seq - firstSeq] === 1;
  });
}

/** Each result line of this chunk, by its index in the chunk; no results file yet reads as none. */
async function readResults(resultsPath: string, chunk: Pick<Chunk, 'firstSeq' | 'count'>, each: (i: number, line: Buffer, keyEnd: number) => void): Promise<void> {
  try {
    await forEachLineAsync(resultsPath, (line) => {
      const k = readLineKey(line);
      const i = k ? k.seq - chunk.firstSeq : -1;
      if (k && i >= 0 && i < chunk.count) each(i, line, k.keyEnd);
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
