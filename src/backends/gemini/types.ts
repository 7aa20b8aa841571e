/**
 * The contract of the Gemini Files + Batch HTTP client (src/backends/gemini/). The
 * pipeline stages code against these interfaces; src/backends/gemini/client.ts implements
 * them over undici.
 */
import type { Readable } from 'node:stream';


import type { z } from 'zod/v3';
import type { BatchState, BatchTask, QuotaViolation } from '../../backend/types.js';
import type { retryOptionsSchema } from '../../options/retry.js';

export { TERMINAL_STATES } from '../../backend/types.js';
export type { BatchState, BatchTask, QuotaViolation };

/** How inline result lines got their keys (see BatchOperation.inlineKeys). */
export type InlineKeying = 'keys' | 'unmatched';


/** The HTTP retry policy's options: derived from their one schema (src/options/retry.ts), never restated. */
export type RetryOptions = z.input<typeof retryOptionsSchema>;

export interface GeminiClientOptions {
  /** Else GOOGLE_API_KEY, else GEMINI_API_KEY. Sent only as x-goog-api-key. */
  apiKey?: string;
  /** Else GOOGLE_GEMINI_BASE_URL, else https://generativelanguage.googleapis.com */
  baseUrl?: string;
  /** Default 'v1beta'. */
  apiVersion?: string;
  retry?: RetryOptions;
  /** Max sockets per origin (default 16). */
  connections?: number;
  /**
   * Called before each retry wait, a download resume's included (logging, a
   * progress line: "unreachable for 6 s"). `route` is the call being retried,
   * `elapsedMs` how long it has been tried. Errors passed here are already
   * scrubbed of the key.
   */
  onRetry?: (e: { attempt: number; error: unknown; delayMs: number; elapsedMs?: number; route?: string }) => void;
}

export interface GeminiFile {
  name: string; // files/abc
  displayName?: string;
  mimeType?: string;
  sizeBytes?: string;
  createTime?: string;
  updateTime?: string;
  expirationTime?: string;
  sha256Hash?: string;
  uri?: string;
  state?: string;
  source?: string;
}

export interface BatchStats {
  requestCount?: string;
  successfulRequestCount?: string;
  failedRequestCount?: string;
  pendingRequestCount?: string;
}

export interface BatchOperation {
  /** batches/xyz */
  name: string;
  /** Normalised from metadata.state (see normalizeState: unknown names are mapped by what they say). */
  state: BatchState;
  /** metadata.state as the service sent it (BATCH_STATE_*, JOB_STATE_*, or something new). */
  wireState?: string;
  displayName?: string;
  model?: string;
  /**
   * Finished: the operation says `done: true` (whatever its state string), or
   * its state is terminal. A done operation is never polled again by waitForBatch.
   */
  done: boolean;
  /**
   * The operation carries results: a responses file or an inline responses
   * array. Any terminal state may carry them (a FAILED, EXPIRED or CANCELLED
   * batch's partial output is exposed the same way): use them when present.
   */
  hasOutput: boolean;
  /**
   * SUCCEEDED (and done) but no output attached yet: seen live (ellmer PR
   * #926). The results are not lost: poll again until hasOutput (bounded),
   * and keep the chunk's input until then.
   */
  outputPending: boolean;
  stats: BatchStats;
  /** files/batch-xyz when the results are in a file. */
  responsesFile?: string;
  /** Number of inline responses (present when results are inline). */
  inlinedResponseCount?: number;
  /**
   * Set by getToFile/waitForBatch when inline responses were written: how
   * many carried a key ('keys': all did; 'unmatched': lines without one keep
   * `"key":null`). Keying those by position, when the counts match, is the
   * Developer API backend's one inline keying (inline-keying.ts), never a
   * guess here.
   */
  inlineKeys?: { keying: InlineKeying; keyed: number; keyless: number };
  /** Operation error for FAILED jobs. */
  error?: { code?: number; message?: string; status?: string };
  createTime?: string;
  updateTime?: string;
  endTime?: string;
  /** The raw wire object (without inline responses when streamed to a file). */
  raw: unknown;
}

export interface UploadProgress {
  /** The resumable session URL; persist it to resume after a restart. */
  uploadUrl: string;
  /** Bytes the service has acknowledged. */
  offset: number;
  total: number;
  /** Bytes put on the wire by this call so far, re-sent pieces included (offset ≤ bytesSent after a resume). */
  bytesSent?: number;
}

export interface UploadFileOptions {
  displayName?: string;
  mimeType?: string; // default application/jsonl
  /** Piece size, multiple of 256 KiB (default 8 MiB). */
  chunkSize?: number;
  /** Resume an upload session started earlier (e.g. persisted in a journal): query, then continue. */
  uploadUrl?: string;
  /** Called once the session URL is known (before any byte is sent). */
  onUploadUrl?: (uploadUrl: string) => void | Promise<void>;
  /** Called after every acknowledged piece. */
  onProgress?: (p: UploadProgress) => void;
  signal?: AbortSignal;
}

export interface CreateBatchOptions {
  model: string;
  task?: BatchTask; // default generate
  displayName?: string;
  /** File input: files/abc */
  fileName?: string;
  /**
   * Inline input: the complete JSON text of the requests array, e.g.
   * `[{"request":{...},"metadata":{"key":"k"}}]` (built by the caller from
   * already-serialised lines, so nothing is parsed twice).
   */
  inlineRequestsJson?: string | Buffer;
  /**
   * Inline input as a stream of that same JSON text, made anew for every
   * attempt: a 20 MB body need not sit in memory while it is sent.
   */
  inlineRequests?: () => Readable;
  /**
   * A dynamic webhook for this batch, sent as `batch.webhookConfig`: its
   * `uris` replace the project's static webhooks for this batch, and
   * `userMetadata` is echoed in every event.
   */
  webhookConfig?: { uris: string[]; userMetadata?: Record<string, unknown> };
  signal?: AbortSignal;
}

export interface WaitOptions {
  signal?: AbortSignal;
  /**
   * Poll backoff: starts at initialMs (default 5 s), multiplies by 1.5, caps
   * at maxMs (default 60 s) and at ageFraction (default 0.2) of the job's age,
   * so a finished job is noticed within about a fifth of its age.
   */
  pollInterval?: { initialMs?: number; maxMs?: number; ageFraction?: number };
  /** Called on every state change (first poll included). */
  onState?: (op: BatchOperation) => void;
  /**
   * The pause between polls (default: sleep `ms`). Resolve early to poll at
   * once: e.g. `(ms, signal) => receiver.waitForHint(batchName, ms, signal)`,
   * so a verified webhook event ends the wait and one GET confirms the state.
   */
  pause?: (ms: number, signal?: AbortSignal) => Promise<unknown>;
  /**
   * When the finished operation carries inline responses, they are streamed
   * (stream-json) into this file as JSONL lines `{"key":..,"response"|"error":..}`
   * instead of being held in memory.
   */
  inlineResultsPath?: string;
}


export interface FindBatchOptions {
  /** How long to keep looking before concluding the batch is not there (default 90 s). */
  windowMs?: number;
  /** First pause between passes (default 1 s), doubling up to maxDelayMs. */
  initialDelayMs?: number;
  /** Longest pause between passes (default 15 s). */
  maxDelayMs?: number;
  /** Page size of each list call (default 100, the service's maximum). */
  pageSize?: number;
  /**
   * Pages read per pass (default 20, i.e. 2,000 batches). The service lists
   * newest first, so a batch just created is on the first page; the bound keeps
   * a project with a long history from turning each pass into thousands of calls.
   */
  maxPages?: number;
  signal?: AbortSignal;
  /** Called after each pass that did not find it; `error` when the pass failed (e.g. 429 on list). */
  onMiss?: (info: { passes: number; elapsedMs: number; error?: unknown }) => void;
  /** Injectable clock (tests). */
  now?: () => number;
}

export interface FilesApi {
  /** Resumable upload of a file on disk; resumes via `query` after a failed piece. */
  upload(path: string, opts?: UploadFileOptions): Promise<GeminiFile>;
  /** Ask the service how many bytes of a session it has (X-Goog-Upload-Command: query). */
  queryUpload(uploadUrl: string, signal?: AbortSignal): Promise<{ status: string; received: number }>;
  /**
   * Throws UnaddressableFileError (ERR_INVALID_OPTIONS), without a request, for
   * an id over 40 chars (a batch output file): the service refuses those.
   */
  get(name: string, signal?: AbortSignal): Promise<GeminiFile>;
  list(opts?: { pageSize?: number; signal?: AbortSignal }): AsyncIterable<GeminiFile>;
  /**
   * Resolves true once deleted; false, without a request, for an id over 40
   * chars (a batch output file: the service cannot delete it; it expires 48 h
   * after it was created). See canGetOrDeleteFile().
   */
  delete(name: string, signal?: AbortSignal): Promise<boolean>;
  /** Streaming download (never buffered whole), by GET /v1beta/files/{id}:download?alt=media. */
  download(name: string, signal?: AbortSignal): Promise<Readable>;
  /** Streaming download to a file on disk; resolves with bytes written. */
  downloadToFile(name: string, path: string, signal?: AbortSignal): Promise<number>;
}

export interface BatchesApi {
  create(opts: CreateBatchOptions): Promise<BatchOperation>;
  /** Full operation; inline responses (if any) stay in `raw`. */
  get(name: string, signal?: AbortSignal): Promise<BatchOperation>;
  /**
   * Like get, but streams inline responses (if any) into a JSONL file, one
   * `{"key":K,"response"|"error":...}` line each, byte for byte (see
   * inline-results.ts), and reports their keys in `inlineKeys`.
   */
  getToFile(name: string, inlineResultsPath: string, signal?: AbortSignal): Promise<BatchOperation>;
  list(opts?: { pageSize?: number; signal?: AbortSignal }): AsyncIterable<BatchOperation>;
  cancel(name: string, signal?: AbortSignal): Promise<void>;
  delete(name: string, signal?: AbortSignal): Promise<void>;
  /** Poll until a terminal state; resolves with the terminal operation. */
  waitForBatch(name: string, opts?: WaitOptions): Promise<BatchOperation>;
  /**
   * Patient lookup before a second create (see find-batch.ts): lists with
   * backoff over `windowMs` (default 90 s); undefined only when every pass
   * of the window came back without it; throws if no pass ever completed.
   */
  findByDisplayName(displayName: string, opts?: FindBatchOptions): Promise<BatchOperation | undefined>;
}

/** Events a static webhook can subscribe to (the service may add more). */
export type WebhookEvent = 'batch.succeeded' | 'batch.failed' | 'batch.expired' | (string & {});

/** A static (project-level) webhook of the WebhookService, in camelCase. */
export interface Webhook {
  /** The id in `webhooks/{id}`. */
  id: string;
  name?: string;
  uri: string;
  subscribedEvents: WebhookEvent[];
  /** e.g. enabled / disabled */
  state?: string;
  createTime?: string;
  updateTime?: string;
  /** The live secrets, truncated (the full secret is shown only once). */
  signingSecrets?: { truncatedSecret?: string; expireTime?: string }[];
  /** The wire object (never holding a full secret). */
  raw: unknown;
}

/** create's answer: the webhook and its signing secret, shown this once: store it. */
export interface CreatedWebhook extends Webhook {
  /** `whsec_<base64>`: verify deliveries with it (Standard Webhooks HMAC). */
  newSigningSecret: string;
}

export interface CreateWebhookOptions {
  /** The endpoint deliveries are POSTed to. */
  uri: string;
  subscribedEvents: WebhookEvent[];
  name?: string;
  signal?: AbortSignal;
}

/** Fields to change; update_mask is made of exactly the fields given. */
export interface UpdateWebhookFields {
  uri?: string;
  subscribedEvents?: WebhookEvent[];
  name?: string;
  state?: string;
}

export interface WebhooksApi {
  /** POST /v1beta/webhooks. Not idempotent: retried only when nothing can have been processed. */
  create(opts: CreateWebhookOptions): Promise<CreatedWebhook>;
  /** GET /v1beta/webhooks?page_size=&page_token=, every page. */
  list(opts?: { pageSize?: number; signal?: AbortSignal }): AsyncIterable<Webhook>;
  get(id: string, signal?: AbortSignal): Promise<Webhook>;
  /** PATCH /v1beta/webhooks/{id}?update_mask=<the fields given>. */
  update(id: string, fields: UpdateWebhookFields, signal?: AbortSignal): Promise<Webhook>;
  delete(id: string, signal?: AbortSignal): Promise<void>;
  /** POST /v1beta/webhooks/{id}:ping: asks the service to send a test delivery. */
  ping(id: string, signal?: AbortSignal): Promise<void>;
  /**
   * POST /v1beta/webhooks/{id}:rotateSigningSecret. `revocationBehavior`
   * (e.g. revoke_previous_secrets_after_h24, revoke_previous_secrets_immediately)
   * is passed through as revocation_behavior. The new secret is shown once.
   */
  rotateSigningSecret(id: string, opts?: { revocationBehavior?: string; signal?: AbortSignal }): Promise<{ secret: string }>;
}

/** models/{m}:countTokens: free, rate limited (about 3,000 a minute). */
export interface ModelsApi {
  /** Tokens of a GenerateContentRequest's prompt, as the service counts them. */
  countTokens(model: string, request: Record<string, unknown>, signal?: AbortSignal): Promise<{ totalTokens: number }>;
}

export interface GeminiClient {
  readonly files: FilesApi;
  readonly models: ModelsApi;
  readonly batches: BatchesApi;
  /** Static webhooks (WebhookService). */
  readonly webhooks: WebhooksApi;
  readonly baseUrl: string;
  close(): Promise<void>;
}
