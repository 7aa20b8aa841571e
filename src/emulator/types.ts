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
) => { response: unknown } | { error: { code: number; message: string; status: string } };

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
}

export type EmulatorRoute = 'upload' | 'files' | 'create' | 'get' | 'list' | 'cancel' | 'delete' | 'download';

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
  /** Result lines written to responses files and inline outputs. */
  resultLines?: number;
  /** Highest process RSS seen, sampled every 100 ms (the memory tests read it). */
  maxRssBytes?: number;
}

export interface RunningEmulator {
  url: string;
  port: number;
  dataDir: string;
  counters(): EmulatorCounters;
  close(): Promise<void>;
}
