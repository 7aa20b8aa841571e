/**
 * A failed output row's free-text `status` ("Internal error occurred. Failed
 * to get generateContentResponse: {"error": {"code": 429, …}}") as the
 * canonical `{code, message, status}`, as well as it can be read: the code
 * and status of an embedded Google error when there is one, else a gRPC
 * status name in the text, else INTERNAL (13). The message is the text as
 * written. Its grammar is not documented (VERTEX.md): anything unreadable is
 * INTERNAL, which a retry round may send again.
 */
import { GRPC_STATUS_NAMES, statusName } from '../../internal/wire/result-error.js';

export interface RowError {
  code: number;
  message: string;
  status: string;
}

const NAMED = new RegExp(`\\b(${GRPC_STATUS_NAMES.slice(1).filter((s) => s !== 'UNKNOWN').join('|')})\\b`);

/** The Google error JSON at the end of the text, if any. */
function embedded(text: string): { code?: unknown; status?: unknown } | undefined {
  let at = text.indexOf('{');
  for (let tries = 0; at >= 0 && tries < 4; tries++, at = text.indexOf('{', at + 1)) {
    try {
      const v = JSON.parse(text.slice(at)) as { error?: { code?: unknown; status?: unknown }; code?: unknown; status?: unknown };
      return v.error ?? v;
    } catch {
      // Not JSON from here: try the next brace.
    }
  }
  return undefined;
}

export function rowError(text: string): RowError {
  const e = embedded(text);
  if (e && typeof e.code === 'number' && Number.isInteger(e.code)) {
    return { code: e.code, message: text, status: typeof e.status === 'string' && e.status !== '' ? e.status : statusName(e.code) };
  }
  const named = NAMED.exec(text)?.[1];
  if (named) return { code: GRPC_STATUS_NAMES.indexOf(named), message: text, status: named };
  if (/^bad request\b/i.test(text)) return { code: 400, message: text, status: 'INVALID_ARGUMENT' };
  return { code: 13, message: text, status: 'INTERNAL' };
}
