/**
 * One chunk's life in stage 4, top to bottom:
 *
 *   plan (from the journal, once) → under a budget, reserve its cost or
 *   refuse it (budget.ts) → run the whole chunk as a part:
 *     create once → wait → fetch → decide (decide.ts) → done, or act:
 *       resubmit · split in halves · cut to fit the quota · send the rest
 *   → a chunk the service lost is redone under its next attempt
 *   → requests that failed retryably go again (retryFailedRequests)
 *   → its cost journaled → results recorded in the journal → the service's
 *   copies removed.
 *
 * The chunk is done only when its results are on local disk; only then are
 * its input and results removed from the service.
 */
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { GeminiBatchError } from '../../errors.js';
import { crashPoint } from '../../failpoints.js';
import { Slots } from '../../internal/concurrency/bounded.js';
import { chunkPart } from '../../journal/journal.js';
import { putInput, releaseInput } from '../../run/input.js';
import type { FinishedJob, UploadedChunk } from '../../types.js';
import { chargeLostBatch, reserveChunk, settleOrRefuse } from './budget.js';
import { createOnce } from './create-once.js';
import { decideAfterJob, MAX_REDOS_PER_RUN, planChunk } from './decide.js';
import {
  copyFlaggedRequests,
  cutByTokens,
  cutHalves,
  retryableRequests,
  unansweredRequests,
  type BatchPart,
  type PartKind,
  type PartOutcome,
} from './parts.js';
import { stageEvent, type StageContext } from './stage-context.js';
import { waitAndFetch } from './wait-and-fetch.js';

/** Parts of a chunk over the quota in flight at once (each at most half the limit). */
const QUOTA_PARTS_AT_ONCE = 2;

export async function runChunk(ctx: StageContext, chunk: UploadedChunk): Promise<FinishedJob> {
  const plan = planChunk(chunk, ctx.journal?.get(chunk.index), ctx.o.skipResults);
  if (plan.kind === 'skip') return { chunk, state: 'SUCCEEDED' };
  if (plan.kind === 'results-on-disk') return { chunk, state: plan.state, resultsPath: plan.resultsPath, failure: plan.failure };
  if (ctx.budget) {
    const verdict = await reserveChunk(ctx, chunk);
    if (verdict.kind === 'refused') return verdict.job;
  }

  const resultsPath = join(ctx.journal?.resultsDir ?? ctx.dir, `results-${chunk.index}.jsonl`);
  // A results file left by a crash mid-download may end in a torn line: start it again.
  await rm(resultsPath, { force: true });
  ctx.remoteResults.set(chunk.index, []);
  let inputRef = chunk.fileName;
  // Registered so an abort removes it (a resumed run's input was put by an earlier process).
  if (inputRef) ctx.inFlight.addFile(inputRef);
  let attempt = plan.attempt;
  let done: Extract<PartOutcome, { kind: 'done' }>;
  for (let redo = 0; ; redo++) {
    const whole: BatchPart = { kind: 'whole', chunk, spoolPath: chunk.spoolPath, inputRef, lines: chunk.lineCount, label: chunkPart(chunk.index, attempt), resultsPath, depth: 0 };
    const outcome = await runPart(ctx, whole);
    if (outcome.kind === 'done') {
      done = outcome;
      break;
    }
    // The service no longer has the job or its input: redo the chunk, never a dead end (issue 11).
    if (redo >= MAX_REDOS_PER_RUN) throw new GeminiBatchError('ERR_BATCH_FAILED', `${outcome.message}, ${redo + 1} times in this run: giving up on chunk ${chunk.index}`);
    await ctx.journal?.chunkLost(chunk.index, outcome.reason, outcome.paid);
    const lostName = `${ctx.runId}-${chunkPart(chunk.index, attempt)}`;
    attempt = ctx.journal?.get(chunk.index)?.attempt ?? attempt + 1;
    const label = chunkPart(chunk.index, attempt);
    if (outcome.paid && ctx.budget) {
      const refused = await chargeLostBatch(ctx, chunk, lostName);
      if (refused) {
        await rm(resultsPath, { force: true });
        // The chunk's own upload was released by the refusal; a redo's is ours to release.
        if (inputRef && inputRef !== chunk.fileName) await releaseInput(ctx, inputRef, ctx.o.cleanupRemote);
        return refused;
      }
    }
    stageEvent(ctx, whole, 'RESUBMITTING', chunk.lineCount, undefined, `${outcome.message}: redone as ${ctx.runId}-${label}${outcome.paid ? ' (the lost batch was paid for)' : ''}`);
    await rm(resultsPath, { force: true });
    if (inputRef) {
      await releaseInput(ctx, inputRef, false);
      inputRef = await putInput(ctx, chunk.spoolPath, (await stat(chunk.spoolPath)).size, `${ctx.runId}-${label}`, {
        onBytes: ctx.onBytesUploaded,
        onUploadUrl: (url) => ctx.journal?.uploadStarted(chunk.index, url),
      });
      await ctx.journal?.uploadFinished(chunk.index, inputRef);
    }
  }
  if (done.failure === undefined && ctx.o.retryFailedRequests > 0) await retryFailedRequests(ctx, chunk, resultsPath);

  // The cost first: a crash before the results record fetches them again and records the same batch's cost again.
  const refused = await settleOrRefuse(ctx, chunk, resultsPath, done.batchName);
  if (refused) {
    if (inputRef) await releaseInput(ctx, inputRef, ctx.o.cleanupRemote);
    await rm(resultsPath, { force: true });
    return refused;
  }
  crashPoint('results-downloaded');
  await ctx.journal?.resultsDownloaded(chunk.index, resultsPath, done.failure);
  // Only now that the results are safe locally may the service's copies go; kept ones are the user's.
  for (const ref of ctx.remoteResults.get(chunk.index) ?? []) if (ctx.o.cleanupRemote) await ctx.backend.output.remove(ref, ctx.signal);
  ctx.remoteResults.delete(chunk.index);
  if (inputRef) await releaseInput(ctx, inputRef, ctx.o.cleanupRemote);
  return { chunk, batchName: done.batchName, state: done.state, resultsPath, failure: done.failure };
}

/** A part through its jobs until it has results or a final failure. */
async function runPart(ctx: StageContext, part: BatchPart): Promise<PartOutcome> {
  for (let attempt = 1; ; attempt++) {
    const displayName = attempt === 1 ? `${ctx.runId}-${part.label}` : `${ctx.runId}-${part.label}-r${attempt}`;
    const ran = await oneJob(ctx, part, displayName);
    if (ran.kind === 'split') return runQuotaParts(ctx, part, ran.limit, ran.partTokens);
    if (ran.kind === 'gone') return ran;
    const { job } = ran;
    const end = {
      state: job.state,
      hasOutput: job.hasOutput,
      ...(job.error ? { error: job.error } : {}),
      batchName: job.name,
      attempt,
      maxAttempts: ctx.o.maxJobAttempts,
      lines: part.lines,
      depth: part.depth,
      minSplitRequests: ctx.o.minSplitRequests,
      // A batch the budget cancelled is ours to account for, not someone else's cancel.
      onCancelled: ctx.budget?.cancelled.has(job.name) ? ('emit' as const) : ctx.o.onCancelled,
    };
    let next = decideAfterJob(end);
    const restPath = `${part.spoolPath}.rest-${part.label}-${attempt}`;
    let unanswered = 0;
    if (next.kind === 'count-unanswered') {
      unanswered = await copyFlaggedRequests(part.spoolPath, restPath, await unansweredRequests(part.resultsPath, part.chunk), part.chunk.firstSeq);
      next = decideAfterJob({ ...end, unanswered });
      if (next.kind !== 'run-rest') await rm(restPath, { force: true });
    }
    switch (next.kind) {
      case 'done':
        return { kind: 'done', state: 'SUCCEEDED', batchName: job.name };
      case 'run-rest':
        stageEvent(ctx, part, 'RESUBMITTING', part.lines, job.name, next.detail);
        return runCut(ctx, part.chunk, 'rest', { spoolPath: restPath, lines: unanswered, label: `${part.label}.rest${attempt}`, resultsPath: part.resultsPath, depth: part.depth });
      case 'resubmit':
        stageEvent(ctx, part, 'RESUBMITTING', part.lines, job.name, next.detail);
        continue;
      case 'split-halves':
        stageEvent(ctx, part, 'RESUBMITTING', part.lines, job.name, next.detail);
        return runHalves(ctx, part);
      case 'fail-run':
        throw new GeminiBatchError('ERR_BATCH_FAILED', `${next.message} (chunk ${part.chunk.index})`);
      case 'give-up':
        return { kind: 'done', state: job.state, batchName: job.name, failure: next.failure };
      case 'count-unanswered':
        throw new GeminiBatchError('ERR_INTERNAL', 'decideAfterJob asked to count twice');
    }
  }
}

/**
 * One job of a part: created (or adopted) once, waited for, its results
 * fetched. Parts cut from a chunk run at once but their jobs stay within
 * maxJobsInFlight run-wide (the slot is held for this one job only).
 */
async function oneJob(ctx: StageContext, part: BatchPart, displayName: string) {
  const one = async () => {
    const created = await createOnce(ctx, part, displayName);
    if (created.kind === 'split') return created;
    if (created.kind === 'input-gone') return { kind: 'gone' as const, reason: 'upload-gone' as const, paid: false, message: created.message };
    const waited = await waitAndFetch(ctx, part, displayName, created.batchName);
    return waited.kind === 'gone' ? { ...waited, reason: 'batch-gone' as const } : waited;
  };
  return part.kind === 'whole' ? one() : ctx.partSlots.run(one, ctx.signal);
}

/** An EXPIRED part goes again as two halves, both at once. */
async function runHalves(ctx: StageContext, part: BatchPart): Promise<PartOutcome> {
  const halves = await cutHalves(part, `${part.spoolPath}.part-${part.label}`);
  const runs: Array<Promise<PartOutcome>> = [];
  for (const h of halves) {
    if (h.lines === 0) await rm(h.path, { force: true });
    else runs.push(runCut(ctx, part.chunk, 'half', { spoolPath: h.path, lines: h.lines, label: `${part.label}.${h.suffix}`, resultsPath: part.resultsPath, depth: part.depth + 1 }));
  }
  return combine(await settleAll(runs));
}

/**
 * A part over the enqueued-token quota can never be accepted whole: it is cut
 * into consecutive parts of at most half the limit, two at a time (two fit
 * the quota at once; more would only upload parts that must wait). The
 * quota gate still decides when each create goes.
 */
async function runQuotaParts(ctx: StageContext, part: BatchPart, limit: number, partTokens: number): Promise<PartOutcome> {
  const cuts = await cutByTokens(part.spoolPath, partTokens, `${part.spoolPath}.quota-${part.label}`);
  stageEvent(ctx, part, 'RESUBMITTING', part.lines, undefined, `over the enqueued-token quota of ${limit} tokens: split into ${cuts.length} batches`);
  const twoAtOnce = new Slots(QUOTA_PARTS_AT_ONCE, 'quota parts');
  const runs = cuts.map((c, i) =>
    twoAtOnce.run(() => runCut(ctx, part.chunk, 'quota', { spoolPath: c.path, lines: c.lines, label: `${part.label}.q${i}`, resultsPath: part.resultsPath, depth: part.depth }), ctx.signal),
  );
  try {
    return combine(await settleAll(runs));
  } finally {
    // Parts that never started (abort) still have their files.
    for (const c of cuts) await rm(c.path, { force: true });
  }
}

/**
 * Requests that failed with a retryable status go again in a follow-up job;
 * their new lines are appended, and the demuxer prefers a success line over
 * an error line for the same key.
 */
async function retryFailedRequests(ctx: StageContext, chunk: UploadedChunk, resultsPath: string): Promise<void> {
  for (let round = 1; round <= ctx.o.retryFailedRequests; round++) {
    const retryPath = `${chunk.spoolPath}.retry-${round}`;
    const lines = await copyFlaggedRequests(chunk.spoolPath, retryPath, await retryableRequests(resultsPath, chunk), chunk.firstSeq);
    if (lines === 0) {
      await rm(retryPath, { force: true });
      return;
    }
    await runCut(ctx, chunk, 'retry', { spoolPath: retryPath, lines, label: `${chunk.index}.retry${round}`, resultsPath, depth: 0 });
  }
}

/** A part cut from a chunk: its lines stored (unless small enough to go inline), run, then its input removed here and there. */
async function runCut(ctx: StageContext, chunk: UploadedChunk, kind: Exclude<PartKind, 'whole'>, cut: Pick<BatchPart, 'spoolPath' | 'lines' | 'label' | 'resultsPath' | 'depth'>): Promise<PartOutcome> {
  const size = (await stat(cut.spoolPath)).size;
  const inline = ctx.backend.limits.maxInlineBytes !== undefined && chunk.mode === 'inline' && size < ctx.o.maxInlineBytes / 2;
  const inputRef = inline ? undefined : await putInput(ctx, cut.spoolPath, size, `${ctx.runId}-${cut.label}`, { onBytes: ctx.onBytesUploaded });
  try {
    return await runPart(ctx, { ...cut, kind, chunk, inputRef });
  } finally {
    if (inputRef) await releaseInput(ctx, inputRef, ctx.o.cleanupRemote);
    await rm(cut.spoolPath, { force: true });
  }
}

/** Wait for every part (none left running behind a failure), then rethrow the first error. */
async function settleAll(runs: Array<Promise<PartOutcome>>): Promise<PartOutcome[]> {
  const settled = await Promise.allSettled(runs);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<PartOutcome>).value);
}

/** The parts' outcome as one: a part gone makes the chunk gone; else the first failure, else the last success. */
function combine(results: PartOutcome[]): PartOutcome {
  return results.find((r) => r.kind === 'gone') ?? results.find((r) => r.kind === 'done' && r.failure) ?? results[results.length - 1]!;
}
