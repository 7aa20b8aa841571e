/**
 * The seam between the pipeline and "the batch service" (DESIGN.md,
 * "Backends"). The stages hold the policy (chunk, stage input, create once,
 * wait, recover, demux); a backend holds what one service needs: its limits,
 * its line format, where input goes, its job verbs and where results come
 * from. The run context hands each stage its backend; no file under
 * src/stages/ or src/run/ imports a backend's folder (scripts/check-layout.mjs).
 *
 * Results cross the seam in one shape, the canonical result line
 * `{"key":"<seq>:<key>","response":{…}}` / `{"key":…,"error":{code,message,status}}`
 * (the key may sit at either end, fields in any order): a backend whose
 * service writes something else (Vertex: unordered rows keyed by an echoed
 * label, free-text statuses) rewrites its rows into it while it fetches,
 * so stage 5 reads one format whatever the service.
 */
/** A job's state, normalised: the wire says BATCH_STATE_X or JOB_STATE_X; we say X. */
export type BatchState = 'PENDING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'EXPIRED' | 'UNSPECIFIED';
export const TERMINAL_STATES: ReadonlySet<BatchState> = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED', 'EXPIRED']);

export type BatchTask = 'generate' | 'embed';

/**
 * What a 429's google.rpc.QuotaFailure names: the quota that refused us.
 * `limit` is the quota's value as a number (enqueued tokens per model for
 * batch creates); a limit of 0 means the project has no access at all (the
 * free tier has no Batch API) and waiting will never help.
 */
export interface QuotaViolation {
  /** e.g. generativelanguage.googleapis.com/batch_enqueued_tokens */
  metric?: string;
  /** e.g. BatchEnqueuedTokensPerModelPerProject */
  id?: string;
  /** quotaDimensions.model, e.g. gemini-2.5-flash */
  model?: string;
  /** quotaDimensions.location */
  location?: string;
  /** quotaValue as a number; undefined when absent or not numeric. */
  limit?: number;
}

/** A job as the stages see it, whatever the service. */
export interface BatchJob {
  /** The service's name for it (batches/x, projects/…/batchPredictionJobs/123). */
  name: string;
  state: BatchState;
  /** The state as the service spelled it (JOB_STATE_QUEUED, BATCH_STATE_RUNNING, …). */
  wireState?: string;
  displayName?: string;
  done: boolean;
  /** Results can be fetched (a terminal job may show its output only on a later poll). */
  hasOutput: boolean;
  error?: { code?: number; message?: string; status?: string };
  createTime?: string;
  /** The service's own object, for callers that want more than the above. */
  raw: unknown;
}

/** What one service accepts per job and offers besides. */
export interface BackendLimits {
  /** Most requests in one job. */
  maxRequestsPerJob: number;
  /** Largest input of one job, in bytes. */
  maxInputBytes: number;
  /** Largest inline create body; undefined: the service takes no inline input. */
  maxInlineBytes?: number;
  /** Creates are refused (429) over a per-model enqueued-token quota: stage 4 gates and splits on it. */
  tokenQuota: boolean;
  /** The service can announce a job's end by webhook. */
  webhooks: boolean;
}

/** Stage 1 and 2: what a request line must be for this service. */
export interface WireCodec {
  /**
   * Why this service refuses a (parsed) request, in one sentence; undefined
   * when it takes it. Called on every request stage 1 parses.
   */
  refuse?(request: Record<string, unknown>): string | undefined;
  /**
   * Whether a raw JSONL line that passed stage 1's byte checks may hold
   * something refuse() refuses, given its request's member names (`fields`,
   * canonical; a byte search for the rest, e.g. `"files/`): lines it clears
   * travel as bytes, unparsed. Absent: every line is parsed when refuse is set.
   */
  suspect?(raw: Buffer, fields: ReadonlySet<string>): boolean;
  /**
   * The line this service reads, from the canonical
   * `{"key":"<seq>:<key>","request":{…}}\n` (identity when absent), on bytes.
   * `fields`, when stage 1 knows them: the request's member names (saves a
   * search of the line).
   */
  encodeLine?(line: Buffer, seq: number, fields?: ReadonlySet<string>): Buffer;
  /**
   * What encodeLine adds inside the request object, as text to put before its
   * closing brace (`,"labels":{"gbs_seq":"7"}`), so stage 1 writes a raw line
   * with it in one copy instead of encodeLine copying the line again;
   * undefined when the request's own members (`fields`) need encodeLine.
   */
  requestTail?(seq: number, fields: ReadonlySet<string>): string | undefined;
}

/** Stage 3: where a chunk's lines go before a job reads them. */
export interface InputStore {
  /**
   * Put the spool file's lines where a job can read them, as `name`;
   * resolves with the reference a job is created from (files/x, gs://b/o).
   * `uploadUrl` continues a session journaled by an earlier run.
   */
  put(spoolPath: string, name: string, hooks: InputHooks): Promise<string>;
  /** Best effort: remove our input (a leftover expires or stays the user's). */
  remove(ref: string, signal?: AbortSignal): Promise<void>;
  /** Whether the service still has it (false on 404/403). */
  exists(ref: string, signal?: AbortSignal): Promise<boolean>;
  /** Bytes of input the service lets us hold at once (Developer API: 20 GB of files); undefined: no cap. */
  readonly capacityBytes?: number;
}

export interface InputHooks {
  signal?: AbortSignal;
  /** A session from an earlier run: continue it from the service's received offset. */
  uploadUrl?: string;
  /** Called with the session before the first byte (the journal records it). */
  onUploadUrl?: (url: string) => Promise<void> | void;
  /** Bytes the service acknowledged since the last call. */
  onBytes?: (n: number) => void;
}

/** What one create sends. */
export interface JobSpec {
  model: string;
  task: BatchTask;
  /** `<runId>-<part>`: deterministic, how our own job is found again. */
  displayName: string;
  /** Labels that find it exactly, where the service has them (`gbs_run`, `gbs_part`). */
  labels: { run: string; part: string };
  /** The stored input (InputStore.put), or … */
  inputRef?: string;
  /** … the spool itself, sent inline (only when limits.maxInlineBytes is set). */
  inlineSpool?: string;
  /** Where a service that writes results to storage writes them (a prefix of the run's). */
  outputName?: string;
  webhookConfig?: { uris: string[]; userMetadata?: Record<string, unknown> };
  signal?: AbortSignal;
}

export interface FindOptions {
  /** How long to keep looking: a list may lag behind a create. */
  windowMs: number;
  initialDelayMs?: number;
  signal?: AbortSignal;
  /** Each pass that found nothing (an event: the user sees why the run waits). */
  onMiss?: (info: { passes: number; elapsedMs: number }) => void;
}

export interface JobWaitOptions {
  signal?: AbortSignal;
  pollInterval?: { initialMs?: number; maxMs?: number; ageFraction?: number };
  onState?: (job: BatchJob) => void;
  /** Sleep between polls; a webhook hint may end it early. */
  pause?: (ms: number, signal?: AbortSignal) => Promise<unknown>;
  /** A file the backend may write results to while it polls (read back by ResultSource.fetch). */
  scratchPath: string;
}

/** Stage 4: the service's job verbs. */
export interface JobService {
  create(spec: JobSpec): Promise<BatchJob>;
  get(name: string, signal?: AbortSignal): Promise<BatchJob>;
  list(opts?: { signal?: AbortSignal }): AsyncIterable<BatchJob>;
  cancel(name: string, signal?: AbortSignal): Promise<void>;
  delete(name: string, signal?: AbortSignal): Promise<void>;
  /** Our own job after a lost create answer (invariant 3), patiently; undefined when the window showed nothing. */
  findOurs(displayName: string, labels: JobSpec['labels'], opts: FindOptions): Promise<BatchJob | undefined>;
  /** Poll until the job is terminal. */
  wait(name: string, opts: JobWaitOptions): Promise<BatchJob>;
  /** Poll once more (a terminal job whose output is not attached yet). */
  refresh(name: string, opts: Pick<JobWaitOptions, 'signal' | 'scratchPath'>): Promise<BatchJob>;
}

/** Where a finished job's results are on local disk after fetch. */
export interface FetchTarget {
  /** Canonical result lines are appended here. */
  resultsPath: string;
  /** The job's request lines (keys by position or by seq, for services that echo neither). */
  spoolPath: string;
  /** How many request lines the spool holds, when known (what a backend indexes by it is sized once). */
  lines?: number;
  scratchPath: string;
  signal?: AbortSignal;
}

export interface Fetched {
  /** Something the user should know (keyed by position, rows without keys, …). */
  detail?: string;
  /** Result objects on the service, to remove once the chunk's results are recorded. */
  remote: string[];
}

/** Stage 4: a finished job's results, brought to local disk. */
export interface ResultSource {
  fetch(job: BatchJob, target: FetchTarget): Promise<Fetched>;
  /** Best effort: remove a results object named by Fetched.remote. */
  remove(ref: string, signal?: AbortSignal): Promise<void>;
}

/** One batch service behind the seam. */
export interface BatchBackend {
  /** 'gemini' (the Developer API), 'vertex', or a test backend's name; recorded in the journal. */
  readonly name: string;
  readonly limits: BackendLimits;
  readonly wire: WireCodec;
  readonly input: InputStore;
  readonly jobs: JobService;
  readonly output: ResultSource;
  /** Where webhook deliveries would come from (the Developer API's base URL), with limits.webhooks. */
  readonly webhookBaseUrl?: string;
  close(): Promise<void>;
}

