/**
 * One object that fits a job, submitted as it is: `gcsSource.uris` is the
 * user's own object (no byte of it passes through this machine, and it is
 * never deleted). The job is created at most once: its displayName and
 * labels are journaled before the create, its name before the wait; a
 * create whose answer was lost, or an intent left by a crash, is followed by
 * an exact filtered list on the labels (findOurs) over the adopt window
 * before any second create. Its output rows are put back in line order
 * (row-matcher.ts) into the object's results file; its output objects are
 * removed afterwards unless --no-cleanup.
 */
import { join } from 'node:path';
import { GeminiApiError } from '../../backend/service-error.js';
import type { BatchJob, JobService, JobSpec } from '../../backend/types.js';
import type { Gcs } from '../../backends/vertex/gcs.js';
import { outputDirectory } from '../../backends/vertex/jobs.js';
import { outputObjects } from '../../backends/vertex/output.js';
import { GeminiBatchError } from '../../errors.js';
import { nextDelay, sleep, type BackoffOptions } from '../../internal/backoff.js';
import type { Slots } from '../../internal/concurrency/bounded.js';
import type { ResultError } from '../../types.js';
import { KEYS_FILE, MatchIndex } from './line-index.js';
import { RowMatcher } from './row-matcher.js';
import type { GcsJournal, ObjectState } from './run-journal.js';

export interface AsIsContext {
  gcs: Gcs;
  jobs: JobService;
  journal: GcsJournal;
  runId: string;
  model: string;
  signal: AbortSignal;
  pollInterval: { initialMs: number; maxMs: number };
  adoptWindowMs: number;
  outputWaitMs: number;
  cleanup: boolean;
  /** Output fetches at once (each holds its object's index while it runs, a redo of its unanswered lines included: rare, and bounded). */
  fetches: Slots;
  /** Send again the lines of object `i` whose mask byte is set (redo.ts), after a job that ended otherwise than SUCCEEDED. */
  redo(i: number, dir: string, mask: Uint8Array): Promise<{ path: string; complete: () => Promise<void> }>;
  notice(message: string): void;
}

/** Labels as the service takes them: lowercase letters, digits, `_` and `-`, at most 63 characters. */
const label = (s: string) => s.toLowerCase().replace(/[^a-z0-9_-]/g, '_').slice(0, 63);

export function jobNaming(runId: string, i: number): { displayName: string; labels: JobSpec['labels']; outputName: string } {
  return { displayName: `${runId}-o${i}`, labels: { run: label(runId), part: label(`o${i}`) }, outputName: `${runId}/out/o${i}` };
}

const CREATE_TRIES = { maxAttempts: 8, maxElapsedMs: 10 * 60_000 };

async function findOurs(ctx: AsIsContext, displayName: string, labels: JobSpec['labels']): Promise<string | undefined> {
  const job = await ctx.jobs.findOurs(displayName, labels, { windowMs: ctx.adoptWindowMs, initialDelayMs: Math.min(1_000, ctx.pollInterval.initialMs), signal: ctx.signal });
  return job?.name;
}

/** The job of object `i`: the journaled one, the one a lost answer or a crash left (adopted), or a new one. */
async function jobOf(ctx: AsIsContext, i: number, uri: string, st: ObjectState): Promise<string> {
  if (st.job) return st.job;
  const { displayName, labels, outputName } = jobNaming(ctx.runId, i);
  if (st.intent) {
    const found = await findOurs(ctx, displayName, labels);
    if (found) {
      ctx.journal.append({ t: 'created', i, job: found });
      return found;
    }
  } else {
    ctx.journal.append({ t: 'create-intent', i, displayName, labels });
  }
  const spec: JobSpec = { model: ctx.model, task: 'generate', displayName, labels, inputRef: uri, outputName, signal: ctx.signal };
  const curve: BackoffOptions = { initialMs: Math.min(1_000, ctx.pollInterval.initialMs), maxMs: ctx.pollInterval.maxMs, factor: 2, jitter: 0.5, ...CREATE_TRIES };
  const start = Date.now();
  for (let attempt = 1; ; attempt++) {
    let name: string | undefined;
    try {
      name = (await ctx.jobs.create(spec)).name;
    } catch (err) {
      if (!(err instanceof GeminiApiError && err.ambiguous)) throw err;
      // The create may have reached the service: look before creating again.
      ctx.notice(`${uri}: the answer to creating its job was lost (${err.status}); looking for the job by its labels before creating again`);
      name = await findOurs(ctx, displayName, labels);
      if (!name) {
        const wait = nextDelay(attempt, curve, Math.random, { elapsedMs: Date.now() - start });
        if (wait === undefined) {
          throw new GeminiBatchError('ERR_BATCH_FAILED', `creating the job of ${uri} failed ${attempt} times without an answer (last: ${err.message}), and no job labelled ${labels.run}/${labels.part} exists: run again later`, { cause: err });
        }
        await sleep(wait, ctx.signal);
        continue;
      }
    }
    ctx.journal.append({ t: 'created', i, job: name });
    return name;
  }
}

/** Wait for the job's end, then (a SUCCEEDED job) for its output directory to show. */
async function waitForOutput(ctx: AsIsContext, name: string): Promise<BatchJob> {
  let job = await ctx.jobs.wait(name, { signal: ctx.signal, pollInterval: ctx.pollInterval, scratchPath: '' });
  const start = Date.now();
  for (let polls = 1; job.state === 'SUCCEEDED' && !job.hasOutput && Date.now() - start < ctx.outputWaitMs; polls++) {
    await sleep(Math.min(ctx.pollInterval.maxMs, ctx.pollInterval.initialMs * polls), ctx.signal);
    job = await ctx.jobs.get(name, ctx.signal);
  }
  return job;
}

/** What a line no row answered gets: MISSING_RESULT, or the job's own failure when it did not succeed. */
function missingError(job: BatchJob): ResultError {
  if (job.state === 'SUCCEEDED') return { code: 500, status: 'MISSING_RESULT', message: 'the service returned no result for this request' };
  const why = job.error?.message ? `: ${job.error.message}` : '';
  return { code: job.error?.code ?? 500, status: `BATCH_${job.state}`, message: `the job ${job.name} ended ${job.wireState ?? job.state} before answering this request${why}` };
}

export async function runAsIs(ctx: AsIsContext, i: number, uri: string, lines: number, dir: string, st: ObjectState): Promise<{ lines: number; errors: number }> {
  const name = await jobOf(ctx, i, uri, st);
  ctx.notice(`${uri}: ${lines} lines as they are, job ${name}`);
  const job = await waitForOutput(ctx, name);
  const directory = outputDirectory(job);
  const outputs = directory ? await outputObjects(ctx.gcs, directory, ctx.signal) : [];
  const { written: done, redo } = await ctx.fetches.run(async () => {
    const matcher = new RowMatcher(MatchIndex.load(dir, lines), join(dir, 'rows.scratch'));
    try {
      for (const o of outputs) await matcher.fetch(ctx.gcs, o, ctx.signal);
      const c = matcher.counts;
      if (c.byRequest || c.dropped || c.repeated) {
        ctx.notice(`${uri}: ${outputs.length} output files; rows matched by key ${c.byKey}, by gbs_seq label ${c.byLabel}, by request ${c.byRequest}; ${c.repeated} repeated rows ignored, ${c.dropped} rows matching no line dropped`);
      }
      // A job that ended otherwise keeps the rows it finished; the rest are sent again (the same rows every time: matching is deterministic).
      const mask = job.state === 'SUCCEEDED' ? undefined : matcher.unanswered();
      let again: Awaited<ReturnType<AsIsContext['redo']>> | undefined;
      if (mask) {
        const count = mask.reduce((a, b) => a + b, 0);
        ctx.notice(`${uri}: its job ended ${job.wireState ?? job.state} with ${count} of ${lines} lines unanswered; sending those again`);
        again = await ctx.redo(i, dir, mask);
      }
      return { written: await matcher.writeOrdered(join(dir, KEYS_FILE), join(dir, 'results.jsonl'), missingError(job), again?.path), redo: again };
    } finally {
      matcher.close();
    }
  }, ctx.signal);
  ctx.journal.append({ t: 'done', i, ...done });
  await redo?.complete();
  if (ctx.cleanup) {
    for (const o of outputs) await ctx.gcs.delete(o.bucket, o.name, ctx.signal).catch(() => undefined);
  }
  return done;
}
