/**
 * Patient adoption: find a batch by its displayName before creating it a
 * second time (creation is not idempotent; DESIGN.md invariant 3).
 *
 * A create whose answer was lost may still have made the batch, and
 * batches.list is not documented to show a batch the instant it was made.
 * So one empty list proves nothing: we list again with backoff over a window
 * (at least 60 s by default) and conclude "not there" only when every pass
 * of the whole window came back without it. A list that keeps failing (429
 * storms on list are reported) is not a "not there": if no pass ever
 * completed, the last error is thrown, so a caller never creates twice on the
 * strength of lists it never saw.
 */
import { nextDelay, sleep } from '../../internal/backoff.js';
import { isRetryable } from './retry.js';
import type { BatchOperation, BatchesApi, FindBatchOptions } from './types.js';

export const DEFAULT_FIND_WINDOW_MS = 90_000;

/** Which batch to adopt when several carry the name: a succeeded or live one first. */
function rank(op: BatchOperation): number {
  switch (op.state) {
    case 'SUCCEEDED':
      return 0;
    case 'RUNNING':
    case 'PENDING':
      return 1;
    case 'UNSPECIFIED':
      return 2;
    default:
      return 3;
  }
}

async function onePass(batches: Pick<BatchesApi, 'list'>, displayName: string, pageSize: number, maxPages: number, signal?: AbortSignal): Promise<BatchOperation | undefined> {
  let best: BatchOperation | undefined;
  let seen = 0;
  for await (const op of batches.list({ pageSize, ...(signal ? { signal } : {}) })) {
    if (op.displayName === displayName && (!best || rank(op) < rank(best))) best = op;
    if (++seen >= pageSize * maxPages) break;
  }
  return best;
}

/**
 * List until a batch named `displayName` shows up or the window has passed.
 * Resolves with the operation (the best-ranked one if several carry the
 * name), or undefined when every pass of the window showed nothing. Throws
 * when no pass completed at all (the last error), or at once on a
 * non-retryable error or an abort.
 */
export async function findBatchByDisplayName(
  batches: Pick<BatchesApi, 'list'>,
  displayName: string,
  opts: FindBatchOptions = {},
): Promise<BatchOperation | undefined> {
  const now = opts.now ?? Date.now;
  const windowMs = opts.windowMs ?? DEFAULT_FIND_WINDOW_MS;
  const maxDelay = opts.maxDelayMs ?? 15_000;
  const pageSize = Math.min(100, Math.max(1, opts.pageSize ?? 100));
  const maxPages = Math.max(1, opts.maxPages ?? 20);
  // Doubling, no jitter (one caller's lists are not a herd), no budget of its own: the window is the budget.
  const backoff = { initialMs: Math.min(opts.initialDelayMs ?? 1_000, maxDelay), maxMs: maxDelay, factor: 2, jitter: 0, maxAttempts: Infinity, maxElapsedMs: Infinity };
  let completed = 0;
  let lastError: unknown;
  const start = now();
  for (let passes = 1; ; passes++) {
    let hint: number | undefined;
    let error: unknown;
    try {
      const found = await onePass(batches, displayName, pageSize, maxPages, opts.signal);
      if (found) return found;
      completed++;
    } catch (err) {
      if (opts.signal?.aborted || !isRetryable(err)) throw err;
      error = lastError = err;
      hint = (err as { retryAfterMs?: number }).retryAfterMs;
    }
    const elapsed = now() - start;
    opts.onMiss?.({ passes, elapsedMs: elapsed, ...(error !== undefined ? { error } : {}) });
    if (elapsed >= windowMs) {
      if (completed === 0) throw lastError;
      return undefined;
    }
    // A hint (429 on list) lengthens the pause, never shortens it.
    const wait = Math.max(nextDelay(passes, backoff) ?? maxDelay, hint ?? 0);
    // The last pause ends at the window's end, so a final pass happens after it.
    await sleep(Math.max(1, Math.min(wait, windowMs - elapsed)), opts.signal);
  }
}
