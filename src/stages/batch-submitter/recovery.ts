/**
 * The policies that run a part until it has results or a final failure:
 * resubmit a FAILED batch (up to maxJobAttempts), split an EXPIRED one in
 * halves (down to the floor in split-policy.ts, halves at once), cut a part
 * over the enqueued-token quota into parts that fit, go again with only the
 * requests still unanswered when a failed batch carried partial output,
 * error or emit on CANCELLED, and send again the requests that failed with a
 * retryable status (retryFailedRequests).
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
import { cutUnanswered } from './output-wait.js';
import { cutByTokens, shouldSplitExpired } from './split-policy.js';
import { uploadWithinBudget } from '../../run/storage-budget.js';
import { QuotaSplitNeeded } from './survival.js';
import { Slots } from '../../internal/concurrency/bounded.js';

/** Parts of a chunk over the quota in flight at once (each at most half the limit). */
const QUOTA_PARTS_AT_ONCE = 2;

/**
 * One batch of a part: created (or adopted) once, waited for, its results
 * fetched. Parts cut from a chunk run at once but their batches stay within
 * maxJobsInFlight run-wide (the slot is held for this one batch only, never
 * while a part waits for its own parts, so nesting cannot deadlock).
 */
export async function attempt(s: SubmitterState, part: BatchPart, displayName: string): Promise<Attempt> {
  const one = async () => {
    const batchName = await createOnce(s, part, displayName);
    return waitAndFetch(s, part, displayName, batchName);
  };
  return part.spoolPath === part.chunk.spoolPath ? one() : s.survival.partSlots.run(one, s.opts.signal);
}

/** Runs a part through the policies. */
export async function runPart(s: SubmitterState, part: BatchPart): Promise<PartOutcome> {
  const o = s.opts;
  const maxAttempts = o.maxJobAttempts;
  let last: Attempt | undefined;
  for (let n = 1; n <= maxAttempts; n++) {
    const displayName = n === 1 ? `${o.runId}-${part.label}` : `${o.runId}-${part.label}-r${n}`;
    try {
      last = await attempt(s, part, displayName);
    } catch (err) {
      if (err instanceof QuotaSplitNeeded) return runQuotaParts(s, part, err);
      throw err;
    }
    if (last.state === 'SUCCEEDED') return { state: last.state, batchName: last.batchName };
    if (last.op.hasOutput && last.state !== 'CANCELLED') {
      // Partial output is used: only the requests still without a result go again.
      const rest = await runUnanswered(s, part, last, n);
      if (rest) return rest;
    }
    if (last.state === 'FAILED') {
      s.event(part, 'RESUBMITTING', part.lines, last.batchName, `attempt ${n} FAILED: ${last.op.error?.message ?? ''}`);
      continue;
    }
    break;
  }
  const { state, batchName, op } = last!;
  if (state === 'EXPIRED' && shouldSplitExpired(part.lines, part.depth, o.minSplitRequests)) {
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

/** An EXPIRED part goes again as two halves, both at once. */
async function runHalves(s: SubmitterState, part: BatchPart): Promise<PartOutcome> {
  const half = Math.ceil(part.lines / 2);
  const paths = [`${part.spoolPath}.part-${part.label}-a`, `${part.spoolPath}.part-${part.label}-b`];
  await copyLines(part.spoolPath, paths[0]!, (_line, i) => i < half);
  await copyLines(part.spoolPath, paths[1]!, (_line, i) => i >= half);
  const runs: Array<Promise<PartOutcome>> = [];
  for (const [k, p] of paths.entries()) {
    const lines = k === 0 ? half : part.lines - half;
    if (lines === 0) {
      await rm(p, { force: true });
      continue;
    }
    const label = `${part.label}.${k === 0 ? 'a' : 'b'}`;
    runs.push(runSubPart(s, part.chunk, { spoolPath: p, lines, label, resultsPath: part.resultsPath, depth: part.depth + 1 }));
  }
  return combine(await settleAll(runs));
}

/**
 * A part over the enqueued-token quota can never be accepted whole: it is cut
 * into consecutive parts of at most half the limit, two at a time (two fit
 * the quota at once; more would only upload parts that must wait). The
 * quota gate still decides when each create goes.
 */
async function runQuotaParts(s: SubmitterState, part: BatchPart, over: QuotaSplitNeeded): Promise<PartOutcome> {
  const cuts = await cutByTokens(part.spoolPath, over.partTokens, `${part.spoolPath}.quota-${part.label}`);
  s.event(part, 'RESUBMITTING', part.lines, undefined, `over the enqueued-token quota of ${over.limit} tokens: split into ${cuts.length} batches`);
  const twoAtOnce = new Slots(QUOTA_PARTS_AT_ONCE, 'quota parts');
  const runs = cuts.map((c, i) =>
    twoAtOnce.run(
      () => runSubPart(s, part.chunk, { spoolPath: c.path, lines: c.lines, label: `${part.label}.q${i}`, resultsPath: part.resultsPath, depth: part.depth }),
      s.opts.signal,
    ),
  );
  try {
    return combine(await settleAll(runs));
  } finally {
    // Parts that never started (abort) still have their files.
    for (const c of cuts) await rm(c.path, { force: true });
  }
}

/**
 * A FAILED or EXPIRED batch that carried output: its results are kept and
 * only the requests still without one go again, as a part of their own.
 * Undefined when that would not be smaller than the part (nothing came back
 * for it): the ordinary policy goes on.
 */
async function runUnanswered(s: SubmitterState, part: BatchPart, last: Attempt, n: number): Promise<PartOutcome | undefined> {
  const restPath = `${part.spoolPath}.rest-${part.label}-${n}`;
  const lines = await cutUnanswered(part.spoolPath, part.resultsPath, part.chunk, restPath);
  if (lines >= part.lines) {
    await rm(restPath, { force: true });
    return undefined;
  }
  if (lines === 0) {
    await rm(restPath, { force: true });
    return { state: 'SUCCEEDED', batchName: last.batchName };
  }
  s.event(part, 'RESUBMITTING', lines, last.batchName, `${last.state} with partial output: ${part.lines - lines} results kept, ${lines} requests go again`);
  return runSubPart(s, part.chunk, { spoolPath: restPath, lines, label: `${part.label}.rest${n}`, resultsPath: part.resultsPath, depth: part.depth });
}

/** Wait for every part (none left running behind a failure), then rethrow the first error. */
async function settleAll(runs: Array<Promise<PartOutcome>>): Promise<PartOutcome[]> {
  const settled = await Promise.allSettled(runs);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<PartOutcome>).value);
}

/** The parts' outcome as one: the first failure, else the last success. */
function combine(results: PartOutcome[]): PartOutcome {
  return results.find((r) => r.failure) ?? results[results.length - 1]!;
}

/**
 * Requests that failed with a retryable status go again in a follow-up
 * batch; their new lines are appended, and the demuxer prefers a success
 * line over an error line for the same key.
 */
export async function retryFailedRequests(s: SubmitterState, chunk: UploadedChunk, resultsPath: string): Promise<void> {
  for (let round = 1; round <= s.opts.retryFailedRequests; round++) {
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
    if (fileName && s.opts.cleanupRemote) await s.deleteFile(fileName);
    if (fileName) s.inFlight.dropFile(fileName);
    if (fileName) s.survival.budget.release(fileName);
    await rm(cut.spoolPath, { force: true });
  }
}

/** Upload a split half or a retry set unless it is small enough to go inline. */
async function uploadIfLarge(s: SubmitterState, chunk: UploadedChunk, path: string, label: string): Promise<string | undefined> {
  const size = (await stat(path)).size;
  if (chunk.mode === 'inline' && size < s.opts.maxInlineBytes / 2) return undefined;
  const file = await uploadWithinBudget(
    s.survival.budget,
    path,
    size,
    () => uploadFile(s.opts.client, path, `${s.opts.runId}-${label}`, { signal: s.opts.signal, onBytes: s.opts.onBytesUploaded }),
    s.opts.signal,
  );
  s.inFlight.addFile(file);
  return file;
}
