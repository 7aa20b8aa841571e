/**
 * The one backoff curve of the library: every loop that waits and tries
 * again (HTTP retries, polls, looking for an adopted job, quota waits, output
 * waits) asks it how long to wait, with its own parameters, and stops when
 * it says the budget is spent. Pure except `sleep`.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { abortError } from '../errors.js';

export interface BackoffCurve {
  /** The first wait. */
  initialMs: number;
  /** No wait is longer. */
  maxMs: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /**
   * Share of each wait that is random (default 0: none). 1 is "full jitter":
   * uniform in [0, wait]; 0.5 spreads waits over [wait/2, wait].
   */
  jitter?: number;
}

export interface BackoffBudget {
  /** Attempts in all, the first included; undefined: no bound on the count. */
  maxAttempts?: number;
  /** No new attempt once this much time has passed since the first; undefined: no bound. */
  maxElapsedMs?: number;
}

/** The wait before attempt `attempt + 1` after `attempt` (1-based) failed. */
export function backoffDelay(attempt: number, curve: BackoffCurve, random: () => number = Math.random): number {
  const factor = curve.factor ?? 2;
  const ceiling = Math.min(curve.maxMs, curve.initialMs * factor ** Math.max(0, attempt - 1));
  const jitter = Math.min(1, Math.max(0, curve.jitter ?? 0));
  return Math.floor(ceiling * (1 - jitter) + random() * ceiling * jitter);
}

/**
 * The wait before the next attempt, or undefined when the budget is spent:
 * `attempt` attempts were made, the first `elapsedMs` ago. A wait never ends
 * past maxElapsedMs.
 */
export function nextBackoff(attempt: number, elapsedMs: number, curve: BackoffCurve & BackoffBudget, random?: () => number): number | undefined {
  if (curve.maxAttempts !== undefined && attempt >= curve.maxAttempts) return undefined;
  const wait = backoffDelay(attempt, curve, random);
  if (curve.maxElapsedMs === undefined) return wait;
  const left = curve.maxElapsedMs - elapsedMs;
  return left <= 0 ? undefined : Math.min(wait, left);
}

/** Wait `ms`, or reject with the signal's AbortError as soon as it aborts. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) throw abortError(signal);
  try {
    await delay(ms, undefined, signal ? { signal } : undefined);
  } catch (err) {
    if (signal?.aborted) throw abortError(signal);
    throw err;
  }
}
