/**
 * The shape of one OUT line as the CLI writes it: `{"key":<string|null>,` then
 * `"response"`, `"embedding"` or `"error"`. Read at the byte level (where the
 * key ends, whether the line is an error) so a 1 MB answer is never parsed;
 * only an error line (small) is parsed, to read its status.
 */
import { skipString } from '../internal/wire/json-bytes.js';
import { isRetryableResultError, toResultError } from '../internal/wire/result-error.js';
import type { ResultError } from '../types.js';

const HEAD = Buffer.from('{"key":');
const NULL = Buffer.from('null');
const ERROR_MEMBER = Buffer.from(',"error":');

/** Index just past the key's value, or -1 when the line does not start as the CLI writes lines. */
function keyEnd(line: Buffer): number {
  if (!line.subarray(0, HEAD.length).equals(HEAD)) return -1;
  const at = HEAD.length;
  if (line[at] === 0x22) return skipString(line, at);
  if (line.subarray(at, at + NULL.length).equals(NULL)) return at + NULL.length;
  return -1;
}

function parse(line: Buffer): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(line.toString('utf8'));
    return v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The error of an OUT line, or undefined for an answer (a line that is not JSON counts as an answer: it is left alone). */
export function lineError(line: Buffer): ResultError | undefined {
  const end = keyEnd(line);
  if (end !== -1 && !line.subarray(end, end + ERROR_MEMBER.length).equals(ERROR_MEMBER)) return undefined;
  const v = parse(line);
  return v && v.error !== undefined && v.response === undefined && v.embedding === undefined ? toResultError(v.error) : undefined;
}

/**
 * Whether a finished run's error line is worth sending again: the errors a
 * live --retry-failed retries (gRPC 4/8/10/13/14, HTTP 408/429/5xx,
 * MISSING_RESULT), and a batch that expired or failed as a whole (the
 * service's failure, not the record's). Never an invalid record, a request
 * the service refused (INVALID_ARGUMENT), a cancelled batch (someone meant
 * it) or BUDGET_EXCEEDED (not an error of the record: a rerun with a larger
 * --max-cost of an unfinished run sends those).
 */
export function isResendable(err: ResultError | undefined): boolean {
  if (!err) return false;
  return isRetryableResultError(err) || err.status === 'BATCH_EXPIRED' || err.status === 'BATCH_FAILED';
}

/** `fresh` (a resent record's new line) carrying `was`'s key bytes: OUT keeps its keys whatever the resend was keyed by. */
export function withKeyOf(fresh: Buffer, was: Buffer): Buffer {
  const freshEnd = keyEnd(fresh);
  const wasEnd = keyEnd(was);
  if (freshEnd !== -1 && wasEnd !== -1) return Buffer.concat([was.subarray(0, wasEnd), fresh.subarray(freshEnd)]);
  const v = parse(fresh);
  const key = parse(was)?.key;
  if (!v) return fresh;
  return Buffer.from(`${JSON.stringify({ ...v, key: key ?? null })}\n`);
}
