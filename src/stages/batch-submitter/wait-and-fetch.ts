/**
 * Wait for a part's job to end, record its terminal state, and bring its
 * results to local disk (appended to the chunk's results file in the
 * canonical line shape, by the backend's result source). A job shown
 * SUCCEEDED before its output is attached is polled again (bounded) until it
 * is; one that never shows it fails the run rather than being taken as done:
 * its job stays in the journal, and a rerun fetches it. A FAILED, EXPIRED or
 * CANCELLED job's partial output is used too. A job the service no longer has
 * (404) is a value, `gone`: the chunk is redone.
 */
import { rm } from 'node:fs/promises';
import type { BatchJob, BatchState } from '../../backend/types.js';
import { GeminiApiError } from '../../backend/service-error.js';
import { GeminiBatchError } from '../../errors.js';
import { crashPoint } from '../../failpoints.js';
import { nextDelay, sleep, type BackoffOptions } from '../../internal/backoff.js';
import type { BatchPart } from './parts.js';
import { appendExclusive, releaseQuota, stageEvent, type StageContext } from './stage-context.js';

export type WaitOutcome =
  | { kind: 'finished'; job: BatchJob }
  /** The service no longer has the job: `paid` when it had run (its price was paid for nothing). */
  | { kind: 'gone'; paid: boolean; message: string };

/** First pause before looking again for the output of a job an event said ended. */
const OUTPUT_POLL_WITH_WEBHOOK_MS = 2_000;

export async function waitAndFetch(ctx: StageContext, part: BatchPart, displayName: string, batchName: string): Promise<WaitOutcome> {
  const journal = ctx.journal;
  const recordedTerminal = journal?.get(part.chunk.index)?.terminal[displayName];
  // Listed until it reaches a terminal state, so an abort can still cancel it.
  ctx.inFlight.addBatch(batchName);
  // From creation or adoption until done, its events wake the poll (a hint: one GET confirms).
  const webhook = ctx.webhook;
  webhook?.watch(batchName);
  const pause = webhook?.pause(batchName);
  const scratchPath = `${part.resultsPath}.scratch-${displayName}`;
  let lastState: BatchState | undefined;
  let job: BatchJob;
  try {
    job = await ctx.backend.jobs.wait(batchName, {
      signal: ctx.signal,
      pollInterval: ctx.o.pollInterval,
      scratchPath,
      ...(pause ? { pause } : {}),
      onState: (j) => {
        if (j.state === lastState) return;
        if (j.state === 'RUNNING') crashPoint('polling');
        lastState = j.state;
        stageEvent(ctx, part, j.state, part.lines, batchName);
      },
    });
    if (job.state === 'SUCCEEDED' && !job.hasOutput) job = await waitForOutput(ctx, part, batchName, job, scratchPath);
  } catch (err) {
    webhook?.unwatch(batchName);
    // Any other failure (an abort among them) leaves it listed: cancelOnAbort cancels it.
    if (!(err instanceof GeminiApiError && err.httpStatus === 404)) throw err;
    ended(ctx, batchName);
    await rm(scratchPath, { force: true });
    // Results never fetched: if it had finished, its price was paid for nothing.
    const paid = recordedTerminal !== undefined || lastState === 'RUNNING';
    return { kind: 'gone', paid, message: `batch ${batchName} (${displayName}) no longer exists on the service` };
  }
  webhook?.unwatch(batchName);
  ended(ctx, batchName);
  if (recordedTerminal === undefined) await journal?.batchTerminal(part.chunk.index, displayName, job.state);
  if (job.state === 'SUCCEEDED' && !job.hasOutput) {
    await rm(scratchPath, { force: true });
    const ms = ctx.o.outputWaitMs;
    const waited = ms < 60_000 ? `${Math.max(1, Math.round(ms / 1000))} s` : `${Math.round(ms / 60_000)} min`;
    throw new GeminiBatchError(
      'ERR_BATCH_OUTPUT_MISSING',
      `batch ${batchName} shows SUCCEEDED but the service attached no output within ${waited}; its results are paid for: run again${journal ? '' : ' with a stateDir'} later to fetch them`,
    );
  }
  if (job.hasOutput) {
    const fetched = await appendExclusive(ctx, part.resultsPath, () =>
      ctx.backend.output.fetch(job, { resultsPath: part.resultsPath, spoolPath: part.spoolPath, lines: part.lines, scratchPath, signal: ctx.signal }),
    );
    ctx.remoteResults.get(part.chunk.index)?.push(...fetched.remote);
    if (fetched.detail) stageEvent(ctx, part, job.state, part.lines, batchName, fetched.detail);
  }
  await rm(scratchPath, { force: true });
  return { kind: 'finished', job };
}

/**
 * A job shown SUCCEEDED before its output is attached (ellmer PR #926): poll
 * again, bounded by outputWaitMs, until the output appears. Resolves with the
 * last job seen (without output once the bound has passed).
 */
async function waitForOutput(ctx: StageContext, part: BatchPart, batchName: string, job: BatchJob, scratchPath: string): Promise<BatchJob> {
  // With webhooks the poll interval can be minutes, but no second event comes when the output is attached.
  const initialMs = ctx.webhook ? Math.min(OUTPUT_POLL_WITH_WEBHOOK_MS, ctx.o.pollInterval.initialMs) : ctx.o.pollInterval.initialMs;
  const curve: BackoffOptions = { initialMs, maxMs: ctx.o.pollInterval.maxMs, factor: 1.5, jitter: 0, maxAttempts: Infinity, maxElapsedMs: Infinity };
  const start = Date.now();
  let last = job;
  for (let polls = 1; !last.hasOutput; polls++) {
    const left = ctx.o.outputWaitMs - (Date.now() - start);
    if (left <= 0) break;
    if (polls === 1) stageEvent(ctx, part, 'SUCCEEDED', part.lines, batchName, 'SUCCEEDED but no output attached yet: polling until it is');
    await sleep(Math.max(1, Math.min(nextDelay(polls, curve)!, left)), ctx.signal);
    last = await ctx.backend.jobs.refresh(batchName, { signal: ctx.signal, scratchPath });
  }
  return last;
}

/** The job is terminal or gone: nothing of it to cancel, and its quota is free. */
function ended(ctx: StageContext, batchName: string): void {
  ctx.inFlight.dropBatch(batchName);
  releaseQuota(ctx, batchName);
}
