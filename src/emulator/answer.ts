/**
 * One request in, one result out: validation, injected per-request errors,
 * then the responder. Shared by file and inline jobs.
 */
import type { Task } from './batch.js';
import type { Context } from './context.js';
import { requestProblem } from './responder.js';
import { isRecord } from './wire.js';

export interface RequestError {
  code: number;
  message: string;
  status: string;
}

export type RequestResult = { response: unknown; error?: undefined } | { error: RequestError; response?: undefined };

export function answerRequest(ctx: Context, task: Task, model: string, key: string, request: unknown): RequestResult {
  const problem = requestProblem(task, request);
  if (problem !== undefined) {
    return { error: { code: 400, message: `key ${JSON.stringify(key)}: ${problem}`, status: 'INVALID_ARGUMENT' } };
  }
  const injected = ctx.faults.requestError();
  if (injected) {
    ctx.counters.add('injectedErrors');
    return { error: injected };
  }
  try {
    const r = ctx.settings.responder(request as Record<string, unknown>, { model, task, key });
    return 'error' in r ? { error: r.error } : { response: r.response };
  } catch (err) {
    return { error: { code: 500, message: `Responder failed: ${(err as Error).message}`, status: 'INTERNAL' } };
  }
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
    return errorLine(String(lineNo), 400, `line ${lineNo}: not valid JSON (${(err as Error).message})`, 'INVALID_ARGUMENT');
  }
  const rawKey = isRecord(parsed) ? parsed.key : undefined;
  const key = typeof rawKey === 'string' ? rawKey : typeof rawKey === 'number' ? String(rawKey) : String(lineNo);
  if (!isRecord(parsed) || parsed.request === undefined) {
    return errorLine(key, 400, `line ${lineNo}: "request" is required`, 'INVALID_ARGUMENT');
  }
  const r = answerRequest(ctx, task, model, key, parsed.request);
  if (r.error) return errorLine(key, r.error.code, r.error.message, r.error.status);
  return { line: `{"key":${JSON.stringify(key)},"response":${JSON.stringify(r.response)}}`, ok: true };
}

function errorLine(key: string, code: number, message: string, status: string): { line: string; ok: boolean } {
  return { line: JSON.stringify({ key, error: { code, message, status } }), ok: false };
}
