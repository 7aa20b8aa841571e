/** geminiBatch() options: validated once, up front, with zod; defaults applied here and nowhere else. */
import { z } from 'zod/v3';
import { GeminiBatchError } from './errors.js';
import type { BatchRecord } from './types.js';
import { survivalOptionsSchema } from './stages/batch-submitter/survival.js';

/** Just under the service's 2 GB per-file limit, leaving room for nothing else to matter. */
export const DEFAULT_MAX_FILE_BYTES = 2_000_000_000;
/** The service's limit on an inline create body. */
export const DEFAULT_MAX_INLINE_BYTES = 20_000_000;

const positiveInt = z.number().int().positive();

export const optionsSchema = z
  .object({
    model: z.string({ required_error: 'model is required, e.g. "gemini-2.5-flash"' }).min(1, 'model is required, e.g. "gemini-2.5-flash"'),
    apiKey: z.string().min(1).optional(),
    baseUrl: z.string().url().optional(),
    toRequest: z.function().optional(),
    task: z.enum(['generate', 'embed']).default('generate'),
    mode: z.enum(['auto', 'file', 'inline']).default('auto'),
    maxFileBytes: positiveInt.max(2_147_483_648).default(DEFAULT_MAX_FILE_BYTES),
    maxInlineBytes: positiveInt.max(DEFAULT_MAX_INLINE_BYTES * 10).default(DEFAULT_MAX_INLINE_BYTES),
    maxRequestsPerBatch: positiveInt.default(200_000),
    maxLineBytes: positiveInt.optional(),
    flushAfterMs: positiveInt.optional(),
    uploadConcurrency: positiveInt.max(64).default(2),
    maxJobsInFlight: positiveInt.max(1000).default(8),
    pollInterval: z
      .object({ initialMs: positiveInt.default(2_000), maxMs: positiveInt.default(60_000) })
      .default({ initialMs: 2_000, maxMs: 60_000 }),
    ordered: z.boolean().default(true),
    output: z.enum(['objects', 'jsonl']).default('objects'),
    tmpDir: z.string().min(1).optional(),
    signal: z.instanceof(AbortSignal).optional(),
    cleanupRemote: z.boolean().default(true),
    onInvalid: z.enum(['error', 'emit']).default('error'),
    stateDir: z.string().min(1).optional(),
    runId: z.string().regex(/^[a-z0-9-]{1,40}$/, 'runId: 1-40 chars of a-z, 0-9, -').optional(),
    skipResults: z.number().int().nonnegative().default(0),
    maxJobAttempts: positiveInt.default(3),
    minSplitRequests: positiveInt.default(1),
    onCancelled: z.enum(['emit', 'error']).default('emit'),
    retryFailedRequests: z.number().int().nonnegative().default(0),
    cancelOnAbort: z.boolean().default(false),
    // Stage 4's survival options (quota wait, adopt window, output wait, storage budget): see survival.ts.
    ...survivalOptionsSchema,
    retry: z
      .object({
        maxAttempts: positiveInt.optional(),
        initialDelayMs: positiveInt.optional(),
        maxDelayMs: positiveInt.optional(),
        maxElapsedMs: positiveInt.optional(),
        requestTimeoutMs: positiveInt.optional(),
      })
      .optional(),
  })
  .strict();

/** Options of geminiBatch(). */
export interface GeminiBatchOptions<R = BatchRecord> {
  /** Model name, e.g. "gemini-2.5-flash" (models/ is prefixed when missing). */
  model: string;
  /** Else GOOGLE_API_KEY, else GEMINI_API_KEY. Only ever sent as the x-goog-api-key header. */
  apiKey?: string;
  /** Else GOOGLE_GEMINI_BASE_URL, else the real service. */
  baseUrl?: string;
  /** Map any record to {key, request}; default: the record already is one. */
  toRequest?: (record: R, seq: number) => BatchRecord;
  /** 'generate' (batchGenerateContent) or 'embed' (asyncBatchEmbedContent, emits {key, embedding}). */
  task?: 'generate' | 'embed';
  /** 'auto': a chunk whose create body fits maxInlineBytes goes inline, larger ones as files. */
  mode?: 'auto' | 'file' | 'inline';
  /** Largest upload per batch (default 2,000,000,000 bytes). */
  maxFileBytes?: number;
  /** Largest inline create body, measured on the whole body (default 20,000,000 bytes). */
  maxInlineBytes?: number;
  /** Most requests in one batch (default 200,000). */
  maxRequestsPerBatch?: number;
  /** Longest serialised request line accepted (default: the chunk byte limit). */
  maxLineBytes?: number;
  /** Close a chunk this long after its first record, so a slow source still gets results. */
  flushAfterMs?: number;
  /** Concurrent uploads (default 2). */
  uploadConcurrency?: number;
  /** Batches submitted and not yet fully emitted (default 8). */
  maxJobsInFlight?: number;
  /** Poll backoff (default 2 s growing to 60 s). */
  pollInterval?: { initialMs?: number; maxMs?: number };
  /** false: emit each batch's results as soon as it is done (default true: input order). */
  ordered?: boolean;
  /** 'objects' (default) emits KeyedResult objects; 'jsonl' emits one Buffer line per result (no re-parse). */
  output?: 'objects' | 'jsonl';
  /** Where spool and result files go (default os.tmpdir()). */
  tmpDir?: string;
  signal?: AbortSignal;
  /** Delete uploaded and result files on the service after use (default true). */
  cleanupRemote?: boolean;
  /** 'error' fails the stream on a bad record; 'emit' turns it into that record's {key, error}. */
  onInvalid?: 'error' | 'emit';
  /** Crash-safe journal directory: a rerun with the same input resumes without paying twice. */
  stateDir?: string;
  /** Names the batches `<runId>-<chunk>` (default: derived from the stateDir, else random). */
  runId?: string;
  /** Do not emit the first N results (they were written by an earlier run). */
  skipResults?: number;
  /** Attempts per chunk when a job ends FAILED (default 3). */
  maxJobAttempts?: number;
  /** EXPIRED jobs are split in halves down to this many requests (default 1). */
  minSplitRequests?: number;
  /** A job CANCELLED by someone else: 'emit' errors for its records (default) or 'error' the stream. */
  onCancelled?: 'emit' | 'error';
  /** Resubmit requests that failed with a retryable status up to N times (default 0). */
  retryFailedRequests?: number;
  /** On abort/destroy, cancel the batches in flight and delete uploaded files. */
  cancelOnAbort?: boolean;
  /**
   * With none of this run's batches queued, how long creates refused for the
   * enqueued-token quota (429) are tried again before the run fails with one
   * sentence naming the quota (default 600,000 ms = 10 min).
   */
  quotaWaitMs?: number;
  /**
   * How long a batch whose create answer was lost is looked for by its
   * displayName (batches.list may lag) before it is created again (default 90,000 ms).
   */
  adoptWindowMs?: number;
  /** How long a batch shown SUCCEEDED without its output is polled for it (default 900,000 ms = 15 min). */
  outputWaitMs?: number;
  /** Our uploaded, not yet deleted bytes are kept under this by waiting before an upload (default 20,000,000,000). */
  storageBudgetBytes?: number;
  /** HTTP retry policy (see RetryOptions). */
  retry?: {
    maxAttempts?: number;
    initialDelayMs?: number;
    maxDelayMs?: number;
    maxElapsedMs?: number;
    requestTimeoutMs?: number;
  };
}

export type ResolvedOptions<R = BatchRecord> = Omit<z.output<typeof optionsSchema>, 'toRequest'> & {
  toRequest?: (record: R, seq: number) => BatchRecord;
};

export function resolveOptions<R>(opts: GeminiBatchOptions<R>): ResolvedOptions<R> {
  const parsed = optionsSchema.safeParse(opts);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length ? `option ${issue.path.join('.')}` : 'options';
    throw new GeminiBatchError('ERR_INVALID_OPTIONS', `geminiBatch: ${where}: ${issue.message}`);
  }
  const out = { ...parsed.data, toRequest: opts.toRequest } as ResolvedOptions<R>;
  if (out.pollInterval.maxMs < out.pollInterval.initialMs) {
    throw new GeminiBatchError('ERR_INVALID_OPTIONS', 'geminiBatch: pollInterval.maxMs must be >= pollInterval.initialMs');
  }
  if (out.skipResults > 0 && !out.ordered) {
    // "The first N results" only means the first N records when results come in input order.
    throw new GeminiBatchError('ERR_INVALID_OPTIONS', 'geminiBatch: skipResults needs ordered: true');
  }
  return out;
}
