/**
 * Exponential backoff with full jitter, honouring Retry-After, bounded by
 * attempts and elapsed time, cut short by an AbortSignal.
 *
 * Idempotency is the caller's choice: `withRetry` retries whatever
 * `shouldRetry` accepts. The default accepts every retryable GeminiApiError;
 * `retryUnlessAmbiguous` is the predicate for non-idempotent calls (batch
 * creation), which must not be repeated when the first try may have landed.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { abortError } from '../../errors.js';
import { GeminiApiError } from './errors.js';
import type { RetryOptions } from './types.js';

export type RetryPolicy = Required<Omit<RetryOptions, 'requestTimeoutMs'>>;

export const DEFAULT_RETRY: Required<RetryOptions> = {
  maxAttempts: 8,
  initialDelayMs: 500,
  maxDelayMs: 30_000,
  maxElapsedMs: 10 * 60_000,
  requestTimeoutMs: 60_000,
};

/** What the onRetry hook learns before each wait. */
export interface RetryEvent {
  /** The attempt that just failed (1-based). */
  attempt: number;
  error: unknown;
  /** How long we will wait before the next attempt. */
  delayMs: number;
}

export interface WithRetryOptions {
  policy?: Partial<RetryPolicy>;
  signal?: AbortSignal;
  shouldRetry?: (err: unknown) => boolean;
  onRetry?: (e: RetryEvent) => void;
  /** Injectable for tests; returns [0, 1). */
  random?: () => number;
}

export function isRetryable(err: unknown): boolean {
  return err instanceof GeminiApiError && err.retryable;
}

/** For non-idempotent calls: retry only when the failure proves the request was not processed. */
export function retryUnlessAmbiguous(err: unknown): boolean {
  return err instanceof GeminiApiError && err.retryable && !err.ambiguous;
}

/** Full jitter: uniform in [0, min(max, initial * 2^(attempt-1))]. */
export function backoffDelay(attempt: number, policy: Pick<RetryPolicy, 'initialDelayMs' | 'maxDelayMs'>, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

/** Retry-After is either delta-seconds or an HTTP date. Returns ms from `now`, or undefined. */
export function parseRetryAfter(value: string | string[] | undefined, now: number = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined) return undefined;
  const s = v.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const at = Date.parse(s);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** google.rpc.RetryInfo.retryDelay is a Duration string like "30s" or "1.5s". */
export function parseDuration(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const m = /^(\d+(?:\.\d+)?)s$/.exec(value.trim());
  return m ? Math.round(Number(m[1]) * 1000) : undefined;
}

/** Sleep that rejects with ERR_ABORTED the moment `signal` fires. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) throw abortError(signal);
  try {
    await delay(ms, undefined, signal ? { signal } : undefined);
  } catch (err) {
    if (signal?.aborted) throw abortError(signal);
    throw err;
  }
}

export async function withRetry<T>(fn: (attempt: number) => Promise<T>, opts: WithRetryOptions = {}): Promise<T> {
  const policy: RetryPolicy = { ...DEFAULT_RETRY, ...definedOnly(opts.policy) };
  const shouldRetry = opts.shouldRetry ?? isRetryable;
  const random = opts.random ?? Math.random;
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    if (opts.signal?.aborted) throw abortError(opts.signal);
    try {
      return await fn(attempt);
    } catch (err) {
      if (opts.signal?.aborted) throw abortError(opts.signal);
      if (attempt >= policy.maxAttempts || !shouldRetry(err)) throw err;
      const hinted = err instanceof GeminiApiError ? err.retryAfterMs : undefined;
      const wait = hinted ?? backoffDelay(attempt, policy, random);
      // Waiting past the deadline only to fail anyway helps nobody: fail now.
      if (Date.now() - started + wait > policy.maxElapsedMs) throw err;
      opts.onRetry?.({ attempt, error: err, delayMs: wait });
      await sleep(wait, opts.signal);
    }
  }
}

function definedOnly<T extends object>(o: T | undefined): Partial<T> {
  if (!o) return {};
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
