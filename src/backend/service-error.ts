/**
 * The one error type the HTTP client throws for anything the service (or the
 * network on the way to it) did wrong. `code` is always ERR_GEMINI_HTTP, like
 * every other GeminiBatchError code it names a failure class; what went wrong
 * is in `status` (the API's status string), `httpStatus`, `retryable`,
 * `ambiguous` and, for quota refusals, `quota`. Callers switch on those,
 * never on message text.
 */
import { GeminiBatchError } from '../errors.js';
import type { QuotaViolation } from './types.js';

export type { QuotaViolation };

/** The stable `code` of every GeminiApiError. */
export const ERR_GEMINI_HTTP = 'ERR_GEMINI_HTTP';

export interface GeminiApiErrorInit {
  /** HTTP status; 0 when no answer came back (connection error, timeout). */
  httpStatus: number;
  /**
   * The API's status string (RESOURCE_EXHAUSTED, NOT_FOUND, ...); ours when
   * the service gave none: NETWORK_ERROR (no answer), INVALID_RESPONSE (an
   * answer we cannot read), CLIENT_CLOSED (a call after close()), HTTP_<n>
   * (an error body that is not Google's).
   */
  status: string;
  /** Human text; must already be free of secrets. */
  detail: string;
  /** `METHOD /path` without query string. */
  route: string;
  reason?: string;
  retryable: boolean;
  retryAfterMs?: number;
  ambiguous?: boolean;
  /** Low-level error code (ECONNRESET, UND_ERR_SOCKET, ...) for connection errors. */
  errno?: string;
  /** The first QuotaFailure violation of a 429, if the body carried one. */
  quota?: QuotaViolation;
  /** Every QuotaFailure violation (usually one). */
  quotaViolations?: QuotaViolation[];
  cause?: unknown;
}

export class GeminiApiError extends GeminiBatchError {
  declare readonly code: typeof ERR_GEMINI_HTTP;
  /** HTTP status; 0 when no answer came back. */
  readonly httpStatus: number;
  /** The API's status string (RESOURCE_EXHAUSTED, ...), or NETWORK_ERROR / INVALID_RESPONSE / HTTP_<n>. */
  readonly status: string;
  readonly route: string;
  readonly reason: string | undefined;
  readonly retryable: boolean;
  /**
   * The service's own hint of when to try again, in ms: the Retry-After
   * header, else google.rpc.RetryInfo.retryDelay, else "Please retry in
   * 47.88s" in the message. Undefined when it gave none.
   */
  readonly retryAfterMs: number | undefined;
  /**
   * True when the request may have reached the service and been processed
   * even though no answer arrived (connection reset after the body was sent,
   * header timeout, 502/504 from a proxy). For idempotent calls this changes
   * nothing; for `batches.create` it means "a job may exist: look it up by
   * displayName before creating again".
   */
  readonly ambiguous: boolean;
  readonly errno: string | undefined;
  /** The quota a 429 names (google.rpc.QuotaFailure); see QuotaViolation. */
  readonly quota: QuotaViolation | undefined;
  readonly quotaViolations: readonly QuotaViolation[];
  // Kept (non-enumerable, so JSON.stringify stays small) to rebuild the error in asAmbiguous().
  private declare readonly init: GeminiApiErrorInit;

  constructor(init: GeminiApiErrorInit) {
    const head = init.httpStatus === 0 ? `Gemini API ${init.status}` : `Gemini API ${init.httpStatus} ${init.status}`;
    super(ERR_GEMINI_HTTP, `${head} on ${init.route}: ${init.detail}`, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'GeminiApiError';
    this.httpStatus = init.httpStatus;
    this.status = init.status;
    this.route = init.route;
    this.reason = init.reason;
    this.retryable = init.retryable;
    this.retryAfterMs = init.retryAfterMs;
    this.ambiguous = init.ambiguous ?? false;
    this.errno = init.errno;
    this.quotaViolations = init.quotaViolations ?? (init.quota ? [init.quota] : []);
    this.quota = init.quota ?? this.quotaViolations[0];
    Object.defineProperty(this, 'init', { value: init, enumerable: false });
  }

  /** The same error, marked as possibly processed by the service. */
  asAmbiguous(): GeminiApiError {
    return this.ambiguous ? this : new GeminiApiError({ ...this.init, ambiguous: true });
  }

  /** The same error with a note after its detail ("gave up after 8 attempts over 12 s"). */
  withNote(note: string): GeminiApiError {
    return new GeminiApiError({ ...this.init, detail: `${this.init.detail} (${note})` });
  }

  /** A 429 whose QuotaFailure names a limit of 0: the project has no access (e.g. free tier and Batch); never retry. */
  get noAccess(): boolean {
    return this.httpStatus === 429 && this.quotaViolations.some((v) => v.limit === 0);
  }
}

/**
 * Replace every occurrence of a secret with a marker. Secrets shorter than 6
 * characters (test keys like 'k'; a real key is 39) are left alone: redacting
 * them would maul every message ("to[REDACTED]ens") and hide nothing.
 */
const MIN_REDACTED_LENGTH = 6;
export function redact(text: string, secret: string | undefined): string {
  if (!secret || secret.length < MIN_REDACTED_LENGTH) return text;
  return text.split(secret).join('[REDACTED]');
}

/** Copy of `err` that keeps its name/code/message (redacted) but none of its other properties. */
export function sanitizedCause(err: unknown, secret: string | undefined): Error {
  const src = err instanceof Error ? err : new Error(String(err));
  const out = new Error(redact(src.message, secret));
  out.name = src.name;
  const code = errorCode(err);
  if (code !== undefined) Object.assign(out, { code });
  // The stack of `out` is built from the redacted message; keep it, drop the original.
  return out;
}

/** The low-level code of a Node/undici error, looking through wrappers (AggregateError, cause). */
export function errorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 4; depth++) {
    if (typeof e !== 'object') return undefined;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR' && code !== 'ERR_GEMINI_HTTP') return code;
    const errors = (e as { errors?: unknown }).errors;
    if (Array.isArray(errors) && errors.length > 0) {
      e = errors[0];
      continue;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
