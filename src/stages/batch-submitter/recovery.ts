/**
 * The policies that run a part until it has results or a final failure:
 * resubmit a FAILED batch (up to maxJobAttempts), split an EXPIRED one in
 * halves, error or emit on CANCELLED, and send again the requests that
 * failed with a retryable status (retryFailedRequests).
 */
import { rm, stat } from 'node:fs/promises';
import { GeminiBatchError } from '../../errors.js';
import type { ResultError, UploadedChunk } from '../../types.js';
import { uploadFile } from '../../run/upload-file.js';
import type { Attempt, BatchPart, PartOutcome } from './batch-part.js';
import { createOnce } from './create-once.js';
import { copyFlaggedRequests, copyLines, retryableRequests } from './spool-parts.js';
import type { SubmitterState } from './submitter-state.js';
import { waitAndFetch } from './wait-and-fetch.js';

/** Halving stops here whatever minSplitRequests says. */
const MAX_SPLIT_DEPTH = 32;

/** One batch of a part: created (or adopted) once, waited for, its results fetched. */
export async function attempt(s: SubmitterState, part: BatchPart, displayName: string): Promise<Attempt> {
  const batchName = await createOnce(s, part, displayName);
  return waitAndFetch(s, part, displayName, batchName);
}

/** Runs a part through the policies. */
export async function runPart(s: SubmitterState, part: BatchPart): Promise<PartOutcome> {
  const o = s.opts;
  const maxAttempts = o.maxJobAttempts ?? 3;
  let last: Attempt | undefined;
  for (let n = 1; n <= maxAttempts; n++) {
    const displayName = n === 1 ? `${o.runId}-${part.label}` : `${o.runId}-${part.label}-r${n}`;
    last = await attempt(s, part, displayName);
    if (last.state === 'SUCCEEDED') return { state: last.state, batchName: last.batchName };
    if (last.state === 'FAILED') {
      s.event(part, 'RESUBMITTING', part.lines, last.batchName, `attempt ${n} FAILED: ${last.op.error?.message ?? ''}`);
      continue;
    }
    break;
  }
  const { state, batchName, op } = last!;
  if (state === 'EXPIRED' && part.lines > Math.max(1, o.minSplitRequests ?? 1) && part.depth < MAX_SPLIT_DEPTH) {
    s.event(part, 'RESUBMITTING', part.lines, batchName, 'EXPIRED: splitting in two');
    return runHalves(s, part);
  }
  if (state === 'CANCELLED' && o.onCancelled === 'error') {
    throw new GeminiBatchError('ERR_BATCH_FAILED', `batch ${batchName} (chunk ${part.chunk.index}) was cancelled`);
  }
  const failure: ResultError = {
    code: op.error?.code ?? (state === 'EXPIRED' ? 504 : 500),
    status: `BATCH_${state}`,
    message:
      state === 'FAILED'
        ? `batch ${batchName} failed ${maxAttempts} times: ${op.error?.message ?? 'no reason given'}`
        : `batch ${batchName} ended ${state}`,
  };
  return { state, batchName, failure };
}

/** An EXPIRED part goes again as two halves, one after the other. */
async function runHalves(s: SubmitterState, part: BatchPart): Promise<PartOutcome> {
  const half = Math.ceil(part.lines / 2);
  const paths = [`${part.spoolPath}.part-${part.label}-a`, `${part.spoolPath}.part-${part.label}-b`];
  await copyLines(part.spoolPath, paths[0]!, (_line, i) => i < half);
  await copyLines(part.spoolPath, paths[1]!, (_line, i) => i >= half);
  const results: PartOutcome[] = [];
  for (const [k, p] of paths.entries()) {
    const lines = k === 0 ? half : part.lines - half;
    if (lines === 0) continue;
    const label = `${part.label}.${k === 0 ? 'a' : 'b'}`;
    results.push(await runSubPart(s, part.chunk, { spoolPath: p, lines, label, resultsPath: part.resultsPath, depth: part.depth + 1 }));
  }
  const failed = results.find((r) => r.failure);
  return failed ?? results[results.length - 1]!;
}

/**
 * Requests that failed with a retryable status go again in a follow-up
 * batch; their new lines are appended, and the demuxer prefers a success
 * line over an error line for the same key.
 */
export async function retryFailedRequests(s: SubmitterState, chunk: UploadedChunk, resultsPath: string): Promise<void> {
  for (let round = 1; round <= (s.opts.retryFailedRequests ?? 0); round++) {
    const retryPath = `${chunk.spoolPath}.retry-${round}`;
    const lines = await copyFlaggedRequests(chunk.spoolPath, retryPath, await retryableRequests(resultsPath, chunk), chunk.firstSeq);
    if (lines === 0) {
      await rm(retryPath, { force: true });
      return;
    }
    await runSubPart(s, chunk, { spoolPath: retryPath, lines, label: `${chunk.index}.retry${round}`, resultsPath, depth: 0 });
  }
}

/** A part cut from a chunk: uploaded when too large to go inline, run, then its input removed here and there. */
async function runSubPart(s: SubmitterState, chunk: UploadedChunk, cut: Omit<BatchPart, 'chunk' | 'fileName'>): Promise<PartOutcome> {
  const fileName = await uploadIfLarge(s, chunk, cut.spoolPath, cut.label);
  try {
    return await runPart(s, { ...cut, chunk, fileName });
  } finally {
    if (fileName && s.opts.cleanupRemote !== false) await s.deleteFile(fileName);
    if (fileName) s.inFlight.dropFile(fileName);
    await rm(cut.spoolPath, { force: true });
  }
}

/** Upload a split half or a retry set unless it is small enough to go inline. */
async function uploadIfLarge(s: SubmitterState, chunk: UploadedChunk, path: string, label: string): Promise<string | undefined> {
  const size = (await stat(path)).size;
  if (chunk.mode === 'inline' && size < (s.opts.maxInlineBytes ?? 20_000_000) / 2) return undefined;
  const file = await uploadFile(s.opts.client, path, `${s.opts.runId}-${label}`, {
    signal: s.opts.signal,
    onBytes: s.opts.onBytesUploaded,
  });
  s.inFlight.addFile(file);
  return file;
}
