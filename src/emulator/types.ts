/**
 * Options of the local Gemini Batch + Files emulator. Every fault knob is
 * also a CLI flag of `gemini-batch emulator` (kebab-case of the name).
 */
export interface EmulatorRequestContext {
  /** The batch model, e.g. models/gemini-2.5-flash */
  model: string;
  task: 'generate' | 'embed';
  key: string;
}

/** A responder returns the response object for one request, or throws / returns {error} for a per-request error. */
export type Responder = (
  request: Record<string, unknown>,
  ctx: EmulatorRequestContext,
) => { response: unknown } | { error: { code: number; message: string; status?: string } };

/**
 * Enqueued-token limit per model: a number for every model; 'tier1' for the
 * Tier-1 preset (2.5 Flash 3,000,000; 2.5 Pro 5,000,000; 2.5 Flash-Lite
 * 10,000,000; 3 Pro Preview 50,000,000; other models unlimited); or a record of
 * bare model id to limit, with '*' for every other model and `tier1: 1` to
 * start from the preset. 0 = no Batch access (every create 429).
 */
export type EnqueuedTokenLimits = number | 'tier1' | Record<string, number>;

/** Faults of webhook deliveries, each a probability per delivery. */
export interface WebhookFaults {
  /** Never sent (not even retried): the safety poll must catch it. */
  drop?: number;
  /** Sent twice with the same webhook-id. */
  duplicate?: number;
  /** Sent this many ms late. */
  delayMs?: number;
  /** Sent with a signature that does not verify. */
  forge?: number;
}

export interface EmulatorOptions {
  port?: number; // 0 = any
  host?: string; // default 127.0.0.1
  /** When set, requests must carry this key (x-goog-api-key or ?key=), else 400 API_KEY_INVALID. */
  apiKey?: string;
  /** Where files live (default: a new temp dir, removed on close). */
  dataDir?: string;
  /** ms a job stays PENDING (default 50) */
  pendingMs?: number;
  /** ms a job stays RUNNING before results are written (default 100) */
  runningMs?: number;
  responder?: Responder;
  /** Max file size (default 2 GiB). */
  maxFileBytes?: number;
  /** Max inline create body (default 20 MB). */
  maxInlineBytes?: number;

  // ---- fault injection ----
  /**
   * Probability per request of an HTTP error, by route group: upload, files, create, get, list, cancel, delete, download.
   * Groups: upload = upload start, pieces and queries; files = files get/list/delete; download = file downloads;
   * create/get/list/cancel/delete = the batch calls. Injected errors happen before the call has any effect
   * (see ambiguousCreateRate for the other kind).
   */
  errorRates?: Partial<Record<EmulatorRoute, number>>;
  /** Which statuses the error rates draw from (default [429, 500, 503]); 0 drops the connection without an answer. */
  errorStatuses?: number[];
  /** Cut the connection after this many bytes of an upload piece (once per session, or every time with cutUploadEvery). */
  cutUploadAfterBytes?: number;
  /** Cut every Nth upload piece request (default: only the first). */
  cutUploadEvery?: number;
  /**
   * Cut a file download after this many bytes of its body (the connection
   * closes with the rest unsent, as a proxy or the service sometimes does):
   * the first cutDownloadTimes answers longer than that, resumed ones included.
   */
  cutDownloadAfterBytes?: number;
  /** How many download answers are cut (default 1). */
  cutDownloadTimes?: number;
  /** Write result lines in random order. */
  shuffleResults?: boolean;
  /** Probability that one request gets a per-request error line. */
  requestErrorRate?: number;
  /** Jobs that end FAILED: a probability, or the 1-based ordinal numbers of created jobs. */
  failJobs?: number | number[];
  /** Jobs that end EXPIRED: a probability, or the 1-based ordinal numbers of created jobs. */
  expireJobs?: number | number[];
  /** Drop this many result lines per job (the missing keys get none). */
  dropResults?: number;
  /** Duplicate this many result lines per job. */
  duplicateResults?: number;
  /** 429 RESOURCE_EXHAUSTED on create when more than this many requests are enqueued (pending or running). */
  maxEnqueuedRequests?: number;
  /** Random seed for every fault decision (default 1). */
  seed?: number;

  // ---- additions (not in the first contract; all optional) ----
  /**
   * Probability that a create is accepted (the job exists and is counted) but
   * the caller gets an injected 503: the "timeout after send" ambiguity that
   * the create-at-most-once logic must survive.
   */
  ambiguousCreateRate?: number;
  /** Longest accepted input JSONL line in bytes (default 32 MiB); a longer line becomes an error line. */
  maxLineBytes?: number;
  /** Clock in ms since epoch (default Date.now): tests move it to simulate the 48 h file and job expiry. */
  now?: () => number;

  // ---- the real service's reported quirks (issue 10) ----
  /**
   * 429 RESOURCE_EXHAUSTED (QuotaFailure + RetryInfo) on a create that would put
   * a model's enqueued tokens (its PENDING + RUNNING batches) over the limit.
   * Tokens are counted as the default responder counts prompt tokens (exported
   * as promptTokens / countTokens): over all text of contents and
   * systemInstruction, one token per CJK, kana or Hangul character and one per
   * 4 other characters (at least 1 per request), plus cached tokens.
   * Default: no limit.
   */
  enqueuedTokenLimit?: EnqueuedTokenLimits;
  /** The RetryInfo.retryDelay (and "Please retry in Ns") of a quota 429, in seconds (default 23, fractions allowed). */
  quotaRetryDelaySeconds?: number;
  /** Inline responses come back without `metadata` (js-genai #1191, python-genai #2008). */
  omitInlineMetadata?: boolean;
  /**
   * Serve downloads of uploaded files too. The service does not (only generated
   * files can be downloaded); tests of a client's download transport use it.
   */
  downloadUploadedFiles?: boolean;
  /** A finished job answers SUCCEEDED without output for this many GETs first (ellmer PR #926). Default 0. */
  succeededWithoutOutputPolls?: number;
  /**
   * Prefix of the state names on the wire: the service sends BATCH_STATE_*
   * (the default); the SDKs rename them JOB_STATE_*, and code that copies an
   * SDK's names may meet those. A client should accept both.
   */
  statePrefix?: 'BATCH_STATE_' | 'JOB_STATE_';
  /**
   * Jobs chosen by failJobs / expireJobs run anyway and end FAILED / EXPIRED
   * carrying partial output: results for the first half of their requests
   * (whether the service does this is undocumented; PROTOCOL.md says to use
   * such output when present). Default false: no output.
   */
  partialOutputOnFailure?: boolean;
  /**
   * Accept any model name. By default a create naming a model the service does
   * not serve (made up, retired like gemini-2.0-*, or of the other kind) is
   * answered 404 NOT_FOUND, as the service answers it.
   */
  anyModel?: boolean;
  /** A new batch shows in batches.list only this many ms after its create. Default 0. */
  listLagMs?: number;
  /**
   * Project file storage (uploaded and generated files together, default 20 GiB).
   * An upload that would go over it is refused with 429 RESOURCE_EXHAUSTED
   * (QuotaFailure on file storage bytes, no RetryInfo) at start or mid-upload.
   */
  storageLimitBytes?: number;

  // ---- webhooks (issue 13) ----
  /** Delivery faults. */
  webhookFaults?: WebhookFaults;
  /** Delivery attempts per event before giving up (default 4; the service retries for 24 h). */
  webhookMaxAttempts?: number;
  /** First retry delay in ms, doubled per attempt (default 200). */
  webhookRetryBaseMs?: number;

  // ---- Vertex AI batch jobs and Cloud Storage (issue 19; requestErrorRate, pendingMs and runningMs apply too) ----
  /** ms a Vertex job stays JOB_STATE_QUEUED before PENDING (default 30). */
  vertexQueueMs?: number;
  /** Vertex jobs that end EXPIRED after the queue (the 72 h wait, simulated), no output: a probability or 1-based ordinals. */
  vertexExpireJobs?: number | number[];
  /** Vertex jobs that end FAILED with no output: a probability or 1-based ordinals. */
  vertexFailJobs?: number | number[];
  /**
   * The 24 h processing cut-off, simulated: a job answers this many rows, exports
   * them, counts the rest as incomplete and ends FAILED (code 4) with its outputInfo.
   */
  vertexCutoffRows?: number;
  /** Terminal GETs that come without outputInfo before it shows (default 1: the first one). */
  vertexOutputInfoHiddenPolls?: number;
  /** Echo an input line's top-level fields (our `key`) in its output row (default false: undocumented, so not relied on). */
  vertexEchoTopLevelFields?: boolean;
  /** Most requests per Vertex job (default 200,000); more fail the job. */
  vertexMaxJobRequests?: number;
  /** Most input bytes per Vertex job (default 1,000,000,000); more fail the job. */
  vertexMaxJobBytes?: number;
  /** The next N requests carrying a bearer token (Vertex or Cloud Storage) answer 401, as for an expired token. */
  expiredTokenResponses?: number;
  /** The first N Cloud Storage media downloads are cut halfway through their body. */
  gcsCutDownloads?: number;
}

/** Route groups for injected errors; `webhooks` is the WebhookService (static webhooks). */
export type EmulatorRoute = 'upload' | 'files' | 'create' | 'get' | 'list' | 'cancel' | 'delete' | 'download' | 'webhooks' | 'countTokens';

export interface EmulatorCounters {
  /** Batch creations accepted, by displayName (crash tests check every chunk was created once). */
  createsByDisplayName: Record<string, number>;
  batchesCreated: number;
  uploadsStarted: number;
  uploadsFinalized: number;
  requestsByRoute: Record<string, number>;
  injectedErrors: number;
  // ---- additions ----
  /** Upload connections cut on purpose (cutUploadAfterBytes). */
  uploadCuts?: number;
  /** Download answers cut on purpose (cutDownloadAfterBytes; Cloud Storage: gcsCutDownloads). */
  downloadCuts?: number;
  /** Result lines written to responses files and inline outputs. */
  resultLines?: number;
  /** Highest process RSS seen, sampled every 100 ms (the memory tests read it). */
  maxRssBytes?: number;
  /** Webhook POSTs sent (every attempt, duplicates and forged ones included). */
  webhookAttempts?: number;
  /** Events answered 2xx by their receiver. */
  webhooksDelivered?: number;
  /** Events dropped on purpose (webhookFaults.drop). */
  webhooksDropped?: number;
}

export interface RunningEmulator {
  url: string;
  port: number;
  dataDir: string;
  counters(): EmulatorCounters;
  close(): Promise<void>;
}
