/**
 * Vertex AI batch prediction jobs (`projects/{p}/locations/{l}/batchPredictionJobs`,
 * v1) as the seam's JobService. States are normalised: QUEUED and PENDING are
 * PENDING; RUNNING, UPDATING, PAUSED and CANCELLING are RUNNING (not an end);
 * PARTIALLY_SUCCEEDED is SUCCEEDED (its failed rows are error lines in the
 * output). A job has output once `outputInfo.gcsOutputDirectory` is set (it
 * can be missing on the first terminal GET). Our own job after a lost create
 * answer is found by an exact filtered list on its labels and displayName,
 * patiently (a list may lag behind a create), never by a second create.
 */
import type { BatchJob, BatchState, FindOptions, JobService, JobSpec, JobWaitOptions } from '../../backend/types.js';
import { TERMINAL_STATES } from '../../backend/types.js';
import { GeminiApiError } from '../../backend/service-error.js';
import { abortError } from '../../errors.js';
import { nextDelay, sleep, type BackoffOptions } from '../../internal/backoff.js';
import { DEFAULT_POLL_INTERVAL } from '../../options/poll.js';
import type { VertexHttp } from './http.js';

export interface VertexJobWire {
  name?: string;
  displayName?: string;
  state?: string;
  error?: { code?: number; message?: string; status?: string };
  createTime?: string;
  labels?: Record<string, string>;
  outputInfo?: { gcsOutputDirectory?: string };
  completionStats?: { successfulCount?: string; failedCount?: string; incompleteCount?: string };
}

const STATES: Readonly<Record<string, BatchState>> = {
  JOB_STATE_QUEUED: 'PENDING',
  JOB_STATE_PENDING: 'PENDING',
  JOB_STATE_RUNNING: 'RUNNING',
  JOB_STATE_UPDATING: 'RUNNING',
  JOB_STATE_PAUSED: 'RUNNING',
  JOB_STATE_CANCELLING: 'RUNNING',
  JOB_STATE_SUCCEEDED: 'SUCCEEDED',
  JOB_STATE_PARTIALLY_SUCCEEDED: 'SUCCEEDED',
  JOB_STATE_FAILED: 'FAILED',
  JOB_STATE_CANCELLED: 'CANCELLED',
  JOB_STATE_EXPIRED: 'EXPIRED',
};

export function normaliseState(wire: string | undefined): BatchState {
  return (wire && STATES[wire]) || 'UNSPECIFIED';
}

export function toJob(w: VertexJobWire): BatchJob {
  const state = normaliseState(w.state);
  const job: BatchJob = {
    name: w.name ?? '',
    state,
    done: TERMINAL_STATES.has(state),
    hasOutput: Boolean(w.outputInfo?.gcsOutputDirectory),
    raw: w,
  };
  if (w.state) job.wireState = w.state;
  if (w.displayName !== undefined) job.displayName = w.displayName;
  if (w.createTime !== undefined) job.createTime = w.createTime;
  if (w.error && (w.error.code || w.error.message)) {
    job.error = { ...(w.error.code !== undefined ? { code: w.error.code } : {}), ...(w.error.message ? { message: w.error.message } : {}), ...(w.error.status ? { status: w.error.status } : {}) };
  }
  return job;
}

/** The output directory of a job the service says has one. */
export function outputDirectory(job: BatchJob): string | undefined {
  return (job.raw as VertexJobWire | undefined)?.outputInfo?.gcsOutputDirectory;
}

/** The job name as a resource path: a bare id is ours to place under the parent. */
export function jobPath(parent: string, name: string): string {
  return name.includes('/') ? name : `${parent}/batchPredictionJobs/${name}`;
}

/** A model id as Vertex names it: publishers/google/models/x, or a full resource path as given. */
export function modelResource(model: string): string {
  if (model.startsWith('projects/') || model.startsWith('publishers/')) return model;
  return `publishers/google/models/${model.replace(/^models\//, '')}`;
}

/** Which of several jobs with our name to adopt: a succeeded or live one first. */
function rank(j: BatchJob): number {
  return j.state === 'SUCCEEDED' ? 0 : j.state === 'RUNNING' || j.state === 'PENDING' ? 1 : j.state === 'UNSPECIFIED' ? 2 : 3;
}

/** Terminal jobs other than SUCCEEDED are asked this many more times for their partial output. */
const PARTIAL_OUTPUT_POLLS = 3;

export interface VertexJobsConfig {
  http: VertexHttp;
  /** `https://{location}-aiplatform.googleapis.com/v1` or an override. */
  apiBase: string;
  /** projects/{p}/locations/{l} */
  parent: string;
  /** Where outputs go: gs://bucket/prefix (no trailing slash). */
  outputBase: string;
}

export function createVertexJobs(cfg: VertexJobsConfig): JobService & { listFiltered(filter: string, signal?: AbortSignal): AsyncIterable<BatchJob> } {
  const { http, apiBase, parent } = cfg;
  const collection = `${apiBase}/${parent}/batchPredictionJobs`;
  const url = (name: string) => `${apiBase}/${jobPath(parent, name)}`;
  const sig = (signal?: AbortSignal) => (signal ? { signal } : {});
  const json = { 'content-type': 'application/json' };

  const get = async (name: string, signal?: AbortSignal) =>
    toJob(await http.retry(() => http.json<VertexJobWire>({ method: 'GET', url: url(name), ...sig(signal) }), sig(signal)));

  const listFiltered = (filter: string | undefined, signal?: AbortSignal): AsyncIterable<BatchJob> => ({
    async *[Symbol.asyncIterator]() {
      let pageToken: string | undefined;
      do {
        const q = new URLSearchParams({ pageSize: '100' });
        if (filter) q.set('filter', filter);
        if (pageToken) q.set('pageToken', pageToken);
        const page = await http.retry(() => http.json<{ batchPredictionJobs?: VertexJobWire[]; nextPageToken?: string }>({ method: 'GET', url: `${collection}?${q}`, ...sig(signal) }), sig(signal));
        for (const j of page.batchPredictionJobs ?? []) yield toJob(j);
        pageToken = page.nextPageToken || undefined;
      } while (pageToken);
    },
  });

  const create = async (spec: JobSpec): Promise<BatchJob> => {
    if (!spec.inputRef) throw new GeminiApiError({ httpStatus: 0, status: 'INVALID_ARGUMENT', detail: 'Vertex batch jobs read their input from Cloud Storage: no inputRef given', route: `POST ${new URL(collection).pathname}`, retryable: false });
    const body = JSON.stringify({
      displayName: spec.displayName,
      model: modelResource(spec.model),
      inputConfig: { instancesFormat: 'jsonl', gcsSource: { uris: [spec.inputRef] } },
      outputConfig: { predictionsFormat: 'jsonl', gcsDestination: { outputUriPrefix: `${cfg.outputBase}/${spec.outputName ?? spec.displayName}` } },
      labels: { gbs_run: spec.labels.run, gbs_part: spec.labels.part },
    });
    const wire = await http.retry(async () => {
      try {
        return await http.json<VertexJobWire>({ method: 'POST', url: collection, headers: json, body, ...sig(spec.signal) });
      } catch (err) {
        // A frontend can answer 5xx after the job was made: look before creating again.
        throw err instanceof GeminiApiError && err.httpStatus >= 500 ? err.asAmbiguous() : err;
      }
    }, { ...sig(spec.signal), idempotent: false });
    return toJob(wire);
  };

  const findOurs = async (displayName: string, labels: JobSpec['labels'], o: FindOptions): Promise<BatchJob | undefined> => {
    const filter = `labels.gbs_run="${labels.run}" AND labels.gbs_part="${labels.part}" AND display_name="${displayName.replace(/"/g, '')}"`;
    const curve: BackoffOptions = { initialMs: o.initialDelayMs ?? 1_000, maxMs: 15_000, factor: 2, jitter: 0, maxAttempts: Infinity, maxElapsedMs: Infinity };
    const start = Date.now();
    let completed = 0;
    let lastError: unknown;
    for (let passes = 1; ; passes++) {
      try {
        let best: BatchJob | undefined;
        for await (const j of listFiltered(filter, o.signal)) if (j.displayName === displayName && (!best || rank(j) < rank(best))) best = j;
        if (best) return best;
        completed++;
      } catch (err) {
        if (o.signal?.aborted || !(err instanceof GeminiApiError && err.retryable)) throw err;
        lastError = err;
      }
      const elapsed = Date.now() - start;
      o.onMiss?.({ passes, elapsedMs: elapsed });
      if (elapsed >= o.windowMs) {
        if (completed === 0) throw lastError;
        return undefined;
      }
      // The last pause ends at the window's end, so one more pass looks after it.
      await sleep(Math.max(1, Math.min(nextDelay(passes, curve)!, o.windowMs - elapsed)), o.signal);
    }
  };

  const wait = async (name: string, o: JobWaitOptions): Promise<BatchJob> => {
    const maxMs = o.pollInterval?.maxMs ?? DEFAULT_POLL_INTERVAL.maxMs;
    const curve: BackoffOptions = { initialMs: Math.min(o.pollInterval?.initialMs ?? DEFAULT_POLL_INTERVAL.initialMs, maxMs), maxMs, factor: 1.5, jitter: 0, maxAttempts: Infinity, maxElapsedMs: Infinity };
    const pause = o.pause ?? sleep;
    let last: BatchState | undefined;
    let extra = 0;
    for (let polls = 1; ; polls++) {
      const job = await get(name, o.signal);
      if (job.state !== last) {
        last = job.state;
        o.onState?.(job);
      }
      if (job.done) {
        // A job that ended otherwise keeps the rows it finished: give its output a few polls to show.
        if (job.hasOutput || job.state === 'SUCCEEDED' || ++extra > PARTIAL_OUTPUT_POLLS || !hasFinishedRows(job)) return job;
      }
      await pause(nextDelay(polls, curve)!, o.signal);
      if (o.signal?.aborted) throw abortError(o.signal);
    }
  };

  return {
    create,
    get,
    list: (o = {}) => listFiltered(undefined, o.signal),
    listFiltered,
    cancel: async (name, signal) => {
      try {
        await http.retry(async () => {
          const res = await http.send({ method: 'POST', url: `${url(name)}:cancel`, headers: json, body: '{}', ...sig(signal) });
          res.body.resume();
        }, sig(signal));
      } catch (err) {
        // A job that has already ended cannot be cancelled: nothing left to stop.
        if (!(err instanceof GeminiApiError && err.httpStatus === 400 && err.status === 'FAILED_PRECONDITION')) throw err;
      }
    },
    delete: async (name, signal) => {
      await http.retry(async () => {
        const res = await http.send({ method: 'DELETE', url: url(name), ...sig(signal) });
        res.body.resume();
      }, sig(signal));
    },
    findOurs,
    wait,
    refresh: (name, o) => get(name, o.signal),
  };
}

/** Whether an ended job says it finished some rows (their output is worth waiting a little for). */
function hasFinishedRows(job: BatchJob): boolean {
  const n = Number((job.raw as VertexJobWire).completionStats?.successfulCount ?? 0) + Number((job.raw as VertexJobWire).completionStats?.failedCount ?? 0);
  return n > 0;
}
