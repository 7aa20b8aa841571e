/**
 * Finding a batch by its displayName before creating it a second time
 * (DESIGN.md invariant 3, issue 10 "lost create answers").
 *
 * A create whose answer was lost may still have made the batch, and
 * batches.list is not documented to show a batch the instant it was made. So
 * one empty list proves nothing: we list again with backoff over a window
 * long enough for a lagging list (adoptWindowMs, 90 s by default, never under
 * 60 s unless the caller sets it, as tests do) and create again only when
 * the whole window showed nothing.
 */
import { sleep } from '../../api/retry.js';
import type { BatchOperation, BatchesApi } from '../../api/types.js';

/** Default window of repeated lists before a displayName is taken to be absent. */
export const DEFAULT_ADOPT_WINDOW_MS = 90_000;

export interface AdoptOptions {
  /** How long to keep looking (default 90 s). */
  windowMs?: number;
  /** First pause between lists (default 1 s), doubling up to maxDelayMs. */
  initialDelayMs?: number;
  /** Longest pause between lists (default 15 s). */
  maxDelayMs?: number;
  signal?: AbortSignal;
  now?: () => number;
  /** Called once per list that did not show it (progress, tests). */
  onMiss?: (listsDone: number, elapsedMs: number) => void;
}

/** Rank of a batch found under a displayName: a live or succeeded one is the one to adopt. */
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

/** One pass over every page of the list: the best batch named `displayName`, if any. */
export async function findOnce(batches: Pick<BatchesApi, 'list'>, displayName: string, signal?: AbortSignal): Promise<BatchOperation | undefined> {
  let best: BatchOperation | undefined;
  for await (const op of batches.list({ pageSize: 100, ...(signal ? { signal } : {}) })) {
    if (op.displayName !== displayName) continue;
    if (!best || rank(op) < rank(best)) best = op;
  }
  return best;
}

/**
 * List until a batch named `displayName` shows up or the window has passed.
 * Resolves with its name, or undefined when the window showed nothing.
 */
export async function findPatiently(batches: Pick<BatchesApi, 'list'>, displayName: string, opts: AdoptOptions = {}): Promise<string | undefined> {
  const now = opts.now ?? Date.now;
  const windowMs = opts.windowMs ?? DEFAULT_ADOPT_WINDOW_MS;
  const maxDelay = opts.maxDelayMs ?? 15_000;
  let delay = Math.min(opts.initialDelayMs ?? 1_000, maxDelay);
  const start = now();
  for (let lists = 1; ; lists++) {
    const found = await findOnce(batches, displayName, opts.signal);
    if (found) return found.name;
    const elapsed = now() - start;
    opts.onMiss?.(lists, elapsed);
    if (elapsed >= windowMs) return undefined;
    // The last pause ends exactly at the window's end, so the final list happens after it.
    await sleep(Math.max(1, Math.min(delay, windowMs - elapsed)), opts.signal);
    delay = Math.min(delay * 2, maxDelay);
  }
}
