/**
 * Create a part's job at most once, ever (invariant 3). The journal records
 * the intent before the call; a job intended before a crash, or a create
 * whose answer was lost, is looked for (the backend's findOurs: by
 * displayName, or exactly by labels) before any new create, patiently (a
 * list may lag behind a create). Every create goes through the enqueued-token
 * quota gate where the backend has one. A create that keeps failing ends in
 * one error within the retry bounds, never loops for ever; each wait the user
 * could not otherwise see the reason for is a job event.
 *
 * The answer is a value: created (or adopted), must be split to fit the
 * quota, or its input is gone from the service (the chunk is redone).
 */
import type { JobSpec } from '../../backend/types.js';
import { GeminiApiError } from '../../backend/service-error.js';
import { GeminiBatchError } from '../../errors.js';
import { crashPoint } from '../../failpoints.js';
import { nextDelay, sleep, type BackoffOptions } from '../../internal/backoff.js';
import { estimateRequestTokens } from '../../internal/wire/token-estimate.js';
import { mayBeInputGone } from './decide.js';
import { spoolTokens, type BatchPart } from './parts.js';
import { createWithinQuota } from './quota-gate.js';
import { holdQuota, stageEvent, type StageContext } from './stage-context.js';

export type CreateOutcome =
  | { kind: 'created'; batchName: string }
  /** Over the enqueued-token quota: cut the part into parts of at most partTokens. */
  | { kind: 'split'; limit: number; partTokens: number }
  /** The create was refused because its stored input is gone: redo the chunk. */
  | { kind: 'input-gone'; message: string };

/** Defaults of the bound on creates whose answer was lost (the run's `retry` option overrides). */
const CREATE_RETRY = { maxAttempts: 8, maxElapsedMs: 10 * 60_000 };

export async function createOnce(ctx: StageContext, part: BatchPart, displayName: string): Promise<CreateOutcome> {
  const journal = ctx.journal;
  const prior = journal?.get(part.chunk.index);
  const labels = labelsOf(ctx.runId, part.label);
  let batchName = prior?.batches[displayName] || undefined;
  if (!batchName && prior && displayName in prior.batches) {
    // Intended before a crash, answer never recorded: adopt it if it exists.
    batchName = await findOurs(ctx, part, displayName, labels);
  }
  if (batchName) {
    if (ctx.gate) holdQuota(ctx, batchName, ctx.gate.hold(await tokensOf(ctx, part)));
    return { kind: 'created', batchName };
  }
  stageEvent(ctx, part, 'CREATING', part.lines, undefined, displayName);
  // The url is journaled with the intent, so a resumed run can listen where deliveries go.
  const webhookConfig = await ctx.webhook?.config(part.chunk.index);
  await journal?.createIntended(part.chunk.index, displayName, webhookConfig?.uris[0]);
  const spec: JobSpec = {
    model: ctx.o.model,
    task: ctx.o.task,
    displayName,
    labels,
    ...(part.inputRef ? { inputRef: part.inputRef } : { inlineSpool: part.spoolPath }),
    outputName: `${ctx.runId}/out/${part.label}`,
    ...(webhookConfig ? { webhookConfig } : {}),
    signal: ctx.signal,
  };
  const made = ctx.gate
    ? await createWithinQuota({
        gate: ctx.gate,
        tokens: await tokensOf(ctx, part),
        requests: part.lines,
        create: () => createUnlessFound(ctx, part, spec),
        signal: ctx.signal,
        onWait: (_why, detail) => stageEvent(ctx, part, 'CREATING', part.lines, undefined, `${displayName}: ${detail}`),
      })
    : { kind: 'created' as const, value: await createUnlessFound(ctx, part, spec), reservation: undefined };
  if (made.kind === 'split') return made;
  if (typeof made.value !== 'string') {
    made.reservation?.release();
    return { kind: 'input-gone', message: made.value.gone };
  }
  const name = made.value;
  if (made.reservation) holdQuota(ctx, name, made.reservation);
  crashPoint('create-sent');
  await journal?.batchCreated(part.chunk.index, displayName, name);
  return { kind: 'created', batchName: name };
}

/** Labels that find our job exactly where the service has them (lowercase, digits, `_-`, 63 chars). */
export function labelsOf(runId: string, label: string): JobSpec['labels'] {
  const clean = (s: string) => s.toLowerCase().replace(/[^a-z0-9_-]/g, '_').slice(0, 63);
  return { run: clean(runId), part: clean(label) };
}

/**
 * Create; after an answer that may hide a created job (a reset, a timeout, a
 * 5xx) look for it before creating again, within the run's retry bounds.
 * Resolves with the job's name, or with `{gone}` when its input is missing.
 */
async function createUnlessFound(ctx: StageContext, part: BatchPart, spec: JobSpec): Promise<string | { gone: string }> {
  const bound = { ...CREATE_RETRY, ...definedOnly(ctx.o.retry) };
  const curve: BackoffOptions = {
    initialMs: Math.min(1_000, ctx.o.pollInterval.initialMs),
    maxMs: ctx.o.pollInterval.maxMs,
    factor: 2,
    jitter: 0.5,
    maxAttempts: bound.maxAttempts,
    maxElapsedMs: bound.maxElapsedMs,
  };
  const start = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return (await ctx.backend.jobs.create(spec)).name;
    } catch (err) {
      if (err instanceof GeminiApiError && err.ambiguous) {
        // The request may have reached the service: never create again before looking,
        // patiently (the whole adopt window showed nothing before a second create).
        stageEvent(ctx, part, 'CREATING', part.lines, undefined, `${spec.displayName}: the create's answer was lost (${err.status}); looking for the batch before creating again`);
        const found = await findOurs(ctx, part, spec.displayName, spec.labels);
        if (found) return found;
        const wait = nextDelay(attempt, curve, Math.random, { elapsedMs: Date.now() - start });
        if (wait === undefined) {
          throw new GeminiBatchError(
            'ERR_BATCH_FAILED',
            `creating batch ${spec.displayName} failed ${attempt} times in ${Math.round((Date.now() - start) / 1000)} s without an answer (last: ${err.message}), and no batch of that name exists: run again later`,
            { cause: err },
          );
        }
        await sleep(wait, ctx.signal);
        continue;
      }
      if (err instanceof GeminiApiError && mayBeInputGone(err.httpStatus, part.kind, part.inputRef !== undefined)) {
        if (!(await ctx.backend.input.exists(part.inputRef!, ctx.signal))) {
          return { gone: `the input ${part.inputRef} of chunk ${part.chunk.index} no longer exists on the service` };
        }
      }
      throw err;
    }
  }
}

/** Our job by its displayName (or labels), looked for over the adopt window; a pass that found nothing is an event. */
async function findOurs(ctx: StageContext, part: BatchPart, displayName: string, labels: JobSpec['labels']): Promise<string | undefined> {
  const job = await ctx.backend.jobs.findOurs(displayName, labels, {
    windowMs: ctx.o.adoptWindowMs,
    initialDelayMs: Math.min(1_000, ctx.o.pollInterval.initialMs),
    signal: ctx.signal,
    onMiss: ({ elapsedMs }) =>
      stageEvent(ctx, part, 'CREATING', part.lines, undefined, `${displayName}: looking for the batch whose create answer was lost (${Math.round(elapsedMs / 1000)} s of ${Math.round(ctx.o.adoptWindowMs / 1000)} s)`),
  });
  return job?.name;
}

/** Estimated tokens of a part: the chunker's sum for the whole chunk, else counted from its lines once. */
export async function tokensOf(ctx: StageContext, part: BatchPart): Promise<number> {
  const known = ctx.tokens.get(part);
  if (known !== undefined) return known;
  const n = part.kind === 'whole' && part.chunk.estimatedTokens !== undefined ? part.chunk.estimatedTokens : await spoolTokens(part.spoolPath, estimateRequestTokens);
  ctx.tokens.set(part, n);
  return n;
}

function definedOnly<T extends object>(o: T | undefined): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o ?? {})) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

