/**
 * A batch that shows SUCCEEDED before its output is attached (ellmer PR
 * #926): keep polling, bounded, until the output appears. Until then the
 * chunk is not done: its results are not on local disk, so nothing of it may
 * be deleted. A FAILED, EXPIRED or CANCELLED batch may carry (partial)
 * output too: whoever ends up here uses it when present.
 */
import { sleep } from '../../backends/gemini/retry.js';
import type { BatchOperation } from '../../backends/gemini/types.js';
import { forEachLineAsync } from '../../internal/io/lines.js';
import { readLineKey } from '../../internal/wire/wire-line.js';
import { copyFlaggedRequests } from './spool-parts.js';
import { DEFAULT_OUTPUT_WAIT_MS } from '../../options/survival.js';

/** Whether the operation carries its results: a responses file or an inline responses array. */
export function hasOutput(op: BatchOperation): boolean {
  return op.hasOutput || Boolean(op.responsesFile) || op.inlinedResponseCount !== undefined;
}

export interface OutputWaitOptions {
  /** Give up after this long (default 15 min). */
  waitMs?: number;
  /** First pause between polls (default 2 s), growing ×1.5 up to maxMs. */
  initialMs?: number;
  maxMs?: number;
  signal?: AbortSignal;
  now?: () => number;
  /** Called before each extra poll (events, tests). */
  onWait?: (polls: number) => void;
}

/**
 * Given a terminal operation, poll `fetch` until it carries output. Resolves
 * with the operation that has it, or with the last one seen (without) once
 * the bound has passed. Only SUCCEEDED is waited for: a failed batch with
 * nothing attached has nothing to wait for.
 */
export async function waitForOutput(
  op: BatchOperation,
  fetch: () => Promise<BatchOperation>,
  opts: OutputWaitOptions = {},
): Promise<BatchOperation> {
  // outputPending is the api's name for exactly this case; the state check covers a hand-built operation.
  if (!(op.outputPending || op.state === 'SUCCEEDED') || hasOutput(op)) return op;
  const now = opts.now ?? Date.now;
  const waitMs = opts.waitMs ?? DEFAULT_OUTPUT_WAIT_MS;
  const maxMs = opts.maxMs ?? 60_000;
  let interval = Math.min(opts.initialMs ?? 2_000, maxMs);
  const start = now();
  let last = op;
  for (let polls = 1; ; polls++) {
    const left = waitMs - (now() - start);
    if (left <= 0) return last;
    opts.onWait?.(polls);
    await sleep(Math.max(1, Math.min(interval, left)), opts.signal);
    interval = Math.min(maxMs, interval * 1.5);
    last = await fetch();
    if (hasOutput(last)) return last;
  }
}

/**
 * Which requests of a chunk have no result line at all in `resultsPath` (an
 * error line counts as a result): a flag per record, indexed by seq - firstSeq.
 * A failed batch's partial output is used and only these go again.
 */
export async function unansweredRequests(resultsPath: string, chunk: { firstSeq: number; count: number }): Promise<Uint8Array> {
  const flags = new Uint8Array(chunk.count).fill(1);
  try {
    await forEachLineAsync(resultsPath, (line) => {
      const k = readLineKey(line);
      const i = k ? k.seq - chunk.firstSeq : -1;
      if (i >= 0 && i < chunk.count) flags[i] = 0;
    });
  } catch (err) {
    // No results file yet: every request is unanswered.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return flags;
}

/**
 * The requests of a part (its lines in `spoolPath`) that have no result in
 * `resultsPath` yet, copied to `to`: what goes again after a FAILED, EXPIRED
 * or CANCELLED batch that carried partial output. Resolves with how many.
 */
export async function cutUnanswered(
  spoolPath: string,
  resultsPath: string,
  chunk: { firstSeq: number; count: number },
  to: string,
): Promise<number> {
  return copyFlaggedRequests(spoolPath, to, await unansweredRequests(resultsPath, chunk), chunk.firstSeq);
}
