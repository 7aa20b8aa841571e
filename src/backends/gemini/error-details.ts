/**
 * Reads the parts of a google.rpc.Status error body that change what a
 * caller does next: ErrorInfo.reason, RetryInfo.retryDelay, the
 * "Please retry in 47.88s" sentence the service puts in 429 messages, and
 * QuotaFailure violations (which quota refused us, for which model, and its
 * limit). Liberal: unknown detail types and malformed fields are skipped,
 * never fatal; an error body is a hint, not a contract.
 */
import type { QuotaViolation } from './types.js';
import { parseDuration } from './retry.js';

export interface ErrorDetails {
  reason?: string;
  /** From RetryInfo.retryDelay, else from the message text. */
  retryAfterMs?: number;
  violations: QuotaViolation[];
}

const RETRY_IN = /retry in (\d+(?:\.\d+)?)\s*(ms|s)\b/i;

/** "Please retry in 47.88s." → 47880; "retry in 250ms" → 250. */
export function retryDelayFromMessage(message: string | undefined): number | undefined {
  const m = message ? RETRY_IN.exec(message) : null;
  if (!m) return undefined;
  const n = Number(m[1]);
  return Math.round(m[2]!.toLowerCase() === 'ms' ? n : n * 1000);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function toViolation(v: unknown): QuotaViolation | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const o = v as Record<string, unknown>;
  const dims = (o.quotaDimensions && typeof o.quotaDimensions === 'object' ? o.quotaDimensions : {}) as Record<string, unknown>;
  const out: QuotaViolation = {};
  const metric = str(o.quotaMetric);
  const id = str(o.quotaId);
  const model = str(dims.model);
  const location = str(dims.location);
  if (metric) out.metric = metric;
  if (id) out.id = id;
  if (model) out.model = model;
  if (location) out.location = location;
  // int64 on the wire: a JSON string, sometimes a number.
  const raw = o.quotaValue;
  const limit = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : undefined;
  if (limit !== undefined && Number.isFinite(limit)) out.limit = limit;
  return Object.keys(out).length > 0 ? out : undefined;
}

function typeOf(d: Record<string, unknown>): string {
  const t = d['@type'];
  return typeof t === 'string' ? t.slice(t.lastIndexOf('/') + 1) : '';
}

/** Walk `error.details` (and the message) of a google.rpc.Status. */
export function readErrorDetails(details: readonly unknown[] | undefined, message: string | undefined): ErrorDetails {
  const out: ErrorDetails = { violations: [] };
  for (const d of details ?? []) {
    if (!d || typeof d !== 'object') continue;
    const o = d as Record<string, unknown>;
    const type = typeOf(o);
    if (out.reason === undefined && str(o.reason)) out.reason = o.reason as string;
    if (out.retryAfterMs === undefined && (type === 'google.rpc.RetryInfo' || typeof o.retryDelay === 'string')) {
      const ms = parseDuration(str(o.retryDelay));
      if (ms !== undefined) out.retryAfterMs = ms;
    }
    if (type === 'google.rpc.QuotaFailure' || Array.isArray(o.violations)) {
      for (const v of Array.isArray(o.violations) ? o.violations : []) {
        const parsed = toViolation(v);
        if (parsed) out.violations.push(parsed);
      }
    }
  }
  if (out.retryAfterMs === undefined) {
    const ms = retryDelayFromMessage(message);
    if (ms !== undefined) out.retryAfterMs = ms;
  }
  return out;
}
