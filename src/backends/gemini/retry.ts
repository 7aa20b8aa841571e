/**
 * Exponential backoff with full jitter, honouring Retry-After, bounded by
 * attempts and elapsed time, cut short by an AbortSignal.
 *
 * Idempotency is the caller's choice: `withRetry` retries whatever
 * `shouldRetry` accepts. The default accepts every retryable GeminiApiError;
 * `retryUnlessAmbiguous` is the predicate for non-idempotent calls (batch
 * creation), which must not be repeated when the first try may have landed.
 */
import { abortError } from '../../errors.js';
import { nextDelay, sleep, type BackoffOptions } from '../../internal/backoff.js';
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
  /** Time since the first attempt began: a caller can say "unreachable for 6 s" on its progress line. */
  elapsedMs?: number;
  /** `METHOD /path` of the call being retried, when the error names it. */
  route?: string;
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

/** Full jitter: uniform in [0, min(max, initial * 2^(attempt-1))]. The shared helper's arithmetic, without budgets. */
export function backoffDelay(attempt: number, policy: Pick<RetryPolicy, 'initialDelayMs' | 'maxDelayMs'>, random: () => number = Math.random): number {
  return nextDelay(Math.max(1, attempt), { ...backoffOf(policy), maxAttempts: Infinity, maxElapsedMs: Infinity }, random) ?? 0;
}

/** The retry options as the shared backoff helper's parameters: doubling, full jitter. */
export function backoffOf(policy: Partial<RetryPolicy> & Pick<RetryPolicy, 'initialDelayMs' | 'maxDelayMs'>): BackoffOptions {
  return {
    initialMs: policy.initialDelayMs,
    maxMs: policy.maxDelayMs,
    factor: 2,
    jitter: 1,
    maxAttempts: policy.maxAttempts ?? Infinity,
    maxElapsedMs: policy.maxElapsedMs ?? Infinity,
  };
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

/** Kept here for the loops that import it from the client; the one sleep is in src/internal/backoff.ts. */
export { sleep };

export async function withRetry<T>(fn: (attempt: number) => Promise<T>, opts: WithRetryOptions = {}): Promise<T> {
  const policy: RetryPolicy = { ...DEFAULT_RETRY, ...definedOnly(opts.policy) };
  const backoff = backoffOf(policy);
  const shouldRetry = opts.shouldRetry ?? isRetryable;
  const random = opts.random ?? Math.random;
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    if (opts.signal?.aborted) throw abortError(opts.signal);
    try {
      return await fn(attempt);
    } catch (err) {
      if (opts.signal?.aborted) throw abortError(opts.signal);
      if (!shouldRetry(err)) throw err;
      const elapsedMs = Date.now() - started;
      const hintMs = err instanceof GeminiApiError ? err.retryAfterMs : undefined;
      const wait = nextDelay(attempt, backoff, random, { elapsedMs, ...(hintMs !== undefined ? { hintMs } : {}) });
      // The budget is spent: one error that says what was tried and for how long.
      if (wait === undefined) throw attempt > 1 ? gaveUp(err, attempt, elapsedMs) : err;
      opts.onRetry?.({ attempt, error: err, delayMs: wait, elapsedMs, ...(err instanceof GeminiApiError ? { route: err.route } : {}) });
      await sleep(wait, opts.signal);
    }
  }
}

function gaveUp(err: unknown, attempts: number, elapsedMs: number): unknown {
  return err instanceof GeminiApiError ? err.withNote(`gave up after ${attempts} attempts over ${formatSeconds(elapsedMs)}`) : err;
}

function formatSeconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

function definedOnly<T extends object>(o: T | undefined): Partial<T> {
  if (!o) return {};
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
