/**
 * Per-request errors. The real service writes a google.rpc.Status with a
 * gRPC code and usually no status string (`{"code": 13, "message": ...}`,
 * PROTOCOL.md); older shapes and our emulator's knobs carry an HTTP code and
 * a status. Both get the gRPC status name, never UNKNOWN for a known code.
 */
import type { ResultError } from '../../types.js';

/** google.rpc.Code, by number. */
export const GRPC_STATUS_NAMES: readonly string[] = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

/** HTTP codes → the status the Google APIs pair them with. */
const HTTP_STATUS_NAMES: Readonly<Record<number, string>> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  408: 'DEADLINE_EXCEEDED',
  409: 'ABORTED',
  412: 'FAILED_PRECONDITION',
  429: 'RESOURCE_EXHAUSTED',
  499: 'CANCELLED',
  500: 'INTERNAL',
  501: 'UNIMPLEMENTED',
  502: 'UNAVAILABLE',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

/**
 * The status name of an error code: 0..16 are gRPC codes, 100..599 HTTP
 * codes. 'UNKNOWN' only for gRPC 2 and codes that are neither.
 */
export function statusName(code: number): string {
  if (Number.isInteger(code) && code >= 0 && code < GRPC_STATUS_NAMES.length) return GRPC_STATUS_NAMES[code]!;
  const http = HTTP_STATUS_NAMES[code];
  if (http) return http;
  if (code >= 500 && code < 600) return 'INTERNAL';
  return 'UNKNOWN';
}

/**
 * A result line's `error` (or `status`) object → ResultError. The code is
 * kept as the service gave it (a gRPC code stays a gRPC code); a missing
 * status string is named from the code.
 */
export function toResultError(raw: unknown): ResultError {
  const e = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
  const code = typeof e.code === 'number' ? e.code : Number(e.code ?? 2) || 2; // no code at all: gRPC UNKNOWN
  const status = typeof e.status === 'string' && e.status !== '' ? e.status : statusName(code);
  const message = typeof e.message === 'string' && e.message !== '' ? e.message : `request failed (${status})`;
  return { code, message, status };
}

const TRANSIENT_STATUSES = new Set(['DEADLINE_EXCEEDED', 'RESOURCE_EXHAUSTED', 'ABORTED', 'INTERNAL', 'UNAVAILABLE']);
const GRPC_NAMES = new Set(GRPC_STATUS_NAMES);
const RETRYABLE_GRPC = new Set([4, 8, 10, 13, 14]);

/**
 * Whether a per-request error is worth a retry round (retryFailedRequests):
 * gRPC 4, 8, 10, 13, 14, HTTP 408, 429 and 5xx, and MISSING_RESULT. The code
 * decides (naming an error never changes the answer); a status only when
 * there is no code. Our own statuses for other failures (INVALID_RECORD,
 * BATCH_FAILED, ...) never are: a bad record stays bad and a failed job has
 * its own policy.
 */
export function isRetryableResultError(err: { code?: unknown; status?: unknown } | undefined | null): boolean {
  if (!err) return false;
  const status = typeof err.status === 'string' ? err.status : '';
  if (status === 'MISSING_RESULT') return true;
  if (status !== '' && !GRPC_NAMES.has(status)) return false; // one of ours
  const code = typeof err.code === 'number' ? err.code : err.code === undefined || err.code === null ? NaN : Number(err.code);
  if (!Number.isInteger(code)) return TRANSIENT_STATUSES.has(status);
  if (code >= 0 && code < 100) return RETRYABLE_GRPC.has(code);
  return code === 408 || code === 429 || (code >= 500 && code < 600);
}

/** The error of a result line from its bytes (one parse); undefined for a success line or garbage. */
export function readResultError(line: Buffer): ResultError | undefined {
  try {
    const parsed = JSON.parse(line.toString('utf8')) as { response?: unknown; error?: unknown; status?: unknown };
    if (parsed.response !== undefined && parsed.response !== null) return undefined;
    return toResultError(parsed.error ?? parsed.status);
  } catch {
    return undefined;
  }
}
