/**
 * The one backoff policy of every retry, poll-again, adopt and quota loop:
 * a pure function that says how long to wait before the next attempt, or
 * that the budget is spent (`undefined`), plus an abortable sleep.
 *
 * Loops own their predicates (what is worth another try) and their events;
 * this module owns only the arithmetic, so "bounded" means the same thing
 * everywhere: at most `maxAttempts` attempts, and never a wait that would end
 * past `maxElapsedMs` since the first one.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { abortError } from '../errors.js';

export interface BackoffOptions {
  /** The wait after the first failed attempt, before jitter (ms). */
  initialMs: number;
  /** No wait is longer than this, before a server's hint (ms). */
  maxMs: number;
  /** Growth per attempt (2 doubles). */
  factor: number;
  /**
   * Share of the wait drawn at random: 0 waits exactly the computed time, 1 is
   * "full jitter" (uniform in [0, computed]), 0.5 is uniform in [half, computed].
   */
  jitter: number;
  /** Attempts in all, the first one included; Infinity for no cap. */
  maxAttempts: number;
  /** No wait may end later than this after the first attempt began; Infinity for no cap. */
  maxElapsedMs: number;
}

export interface BackoffState {
  /** Time since the first attempt began (ms). */
  elapsedMs?: number;
  /** The server's own "retry after" (Retry-After, RetryInfo): its deliberate answer, waited as given instead of the backoff. */
  hintMs?: number;
}

/**
 * The wait after `attempt` (1-based: the attempt that just failed), or
 * undefined when no attempt may follow: `maxAttempts` reached, or the wait
 * would end past `maxElapsedMs` (waiting only to fail anyway helps nobody).
 * `rand` returns [0, 1); injectable so tests are exact.
 */
export function nextDelay(attempt: number, opts: BackoffOptions, rand: () => number = Math.random, state: BackoffState = {}): number | undefined {
  if (!(attempt >= 1) || attempt >= opts.maxAttempts) return undefined;
  const grown = opts.initialMs * opts.factor ** (attempt - 1);
  const ceiling = Math.min(opts.maxMs, Number.isFinite(grown) ? grown : opts.maxMs);
  const jitter = Math.min(1, Math.max(0, opts.jitter));
  const drawn = Math.floor(ceiling * (1 - jitter + jitter * rand()));
  const wait = state.hintMs ?? drawn;
  if ((state.elapsedMs ?? 0) + wait > opts.maxElapsedMs) return undefined;
  return wait;
}

/** Sleep that rejects with ERR_ABORTED the moment `signal` fires (and at once if it already has). */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) throw abortError(signal);
  try {
    await delay(ms, undefined, signal ? { signal } : undefined);
  } catch (err) {
    if (signal?.aborted) throw abortError(signal);
    throw err;
  }
}
