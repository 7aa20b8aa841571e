/**
 * One request in, one result out: validation, injected per-request errors,
 * then the responder. Shared by file and inline jobs.
 *
 * Per-request errors are google.rpc.Status as the service writes them: a gRPC
 * code (3 INVALID_ARGUMENT, 13 INTERNAL, ...), a message, no HTTP code and no
 * status string. Result lines carry the key LAST and the fields inside
 * `response` in an order that varies from line to line, as the service's do.
 */
import type { Task } from './batch.js';
import type { Context } from './context.js';
import { mulberry32 } from './prng.js';
import { requestProblem } from './responder.js';
import { isRecord } from './wire.js';

/** google.rpc.Status. `status` only when a custom responder sets one. */
export interface RequestError {
  code: number;
  message: string;
  status?: string;
}

export const GRPC_INVALID_ARGUMENT = 3;
export const GRPC_INTERNAL = 13;

export type RequestResult = { response: unknown; error?: undefined } | { error: RequestError; response?: undefined };

export function answerRequest(ctx: Context, task: Task, model: string, key: string, request: unknown): RequestResult {
  const problem = requestProblem(task, request);
  if (problem !== undefined) return { error: { code: GRPC_INVALID_ARGUMENT, message: problem } };
  const injected = ctx.faults.requestError();
  if (injected) {
    ctx.counters.add('injectedErrors');
    return { error: injected };
  }
  try {
    const r = ctx.settings.responder(request as Record<string, unknown>, { model, task, key });
    return 'error' in r ? { error: r.error } : { response: r.response };
  } catch (err) {
    return { error: { code: GRPC_INTERNAL, message: `An internal error has occurred: ${(err as Error).message}` } };
  }
}

/**
 * The same response object with its top-level fields in an order drawn from
 * the line number: a client that expects a fixed order (or a fixed prefix
 * such as `{"key":`) breaks here as it would on the service.
 */
export function varyFieldOrder(response: unknown, lineNo: number): unknown {
  if (!isRecord(response)) return response;
  const keys = Object.keys(response);
  if (keys.length < 2) return response;
  const rng = mulberry32(lineNo * 2654435761);
  for (let i = keys.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [keys[i], keys[j]] = [keys[j]!, keys[i]!];
  }
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = response[k];
  return out;
}

/** Top-level fields of an input line other than key and request: the service echoes them (go-genai #513). */
function extras(parsed: Record<string, unknown>): string {
  let s = '';
  for (const [k, v] of Object.entries(parsed)) {
    if (k !== 'key' && k !== 'request' && k !== 'response' && k !== 'error') s += `,${JSON.stringify(k)}:${JSON.stringify(v)}`;
  }
  return s;
}

/**
 * One JSONL input line to one JSONL result line (no newline). A line that is
 * not JSON, or has no usable request, becomes an error line for its key (the
 * 1-based line number when the key itself is unknown).
 */
export function answerLine(
  ctx: Context,
  task: Task,
  model: string,
  lineNo: number,
  text: string,
): { line: string; ok: boolean } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return errorLine(String(lineNo), { code: GRPC_INVALID_ARGUMENT, message: `line ${lineNo}: not valid JSON (${(err as Error).message})` });
  }
  const rawKey = isRecord(parsed) ? parsed.key : undefined;
  const key = typeof rawKey === 'string' ? rawKey : typeof rawKey === 'number' ? String(rawKey) : String(lineNo);
  if (!isRecord(parsed) || parsed.request === undefined) {
    return errorLine(key, { code: GRPC_INVALID_ARGUMENT, message: `line ${lineNo}: "request" is required` });
  }
  const more = extras(parsed);
  const r = answerRequest(ctx, task, model, key, parsed.request);
  if (r.error) return errorLine(key, r.error, more);
  return { line: `{"response":${JSON.stringify(varyFieldOrder(r.response, lineNo))}${more},"key":${JSON.stringify(key)}}`, ok: true };
}

export function errorLine(key: string, error: RequestError, more = ''): { line: string; ok: boolean } {
  return { line: `{"error":${JSON.stringify(error)}${more},"key":${JSON.stringify(key)}}`, ok: false };
}
