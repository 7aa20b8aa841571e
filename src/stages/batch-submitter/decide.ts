/**
 * Stage 4's decisions, as pure functions that return what to do next: the
 * policy in one place, tested as tables (test/stage4.decide.test.ts). The
 * chunk's life (chunk-life.ts) does the I/O and acts on the answer.
 */
import type { BatchState } from '../../backend/types.js';
import type { ResultError } from '../../types.js';
import type { ChunkRecord } from '../../journal/types.js';

/** EXPIRED parts are halved at most this many times (then their records get the error). */
export const MAX_EXPIRED_SPLIT_DEPTH = 3;

/** How often one chunk is redone in one run before its error is let through (a service that loses everything). */
export const MAX_REDOS_PER_RUN = 3;

/** Whether an EXPIRED part of `lines` requests at `depth` is worth halving. */
export function shouldSplitExpired(lines: number, depth: number, minSplitRequests = 1): boolean {
  if (depth >= MAX_EXPIRED_SPLIT_DEPTH) return false;
  return lines >= 2 && Math.floor(lines / 2) >= Math.max(1, minSplitRequests);
}

export interface JobEnd {
  state: BatchState;
  /** The job carried (partial) output, now appended to the results file. */
  hasOutput: boolean;
  /** Its error, when it failed. */
  error?: { code?: number; message?: string };
  batchName: string;
  /** 1-based attempt of this part. */
  attempt: number;
  maxAttempts: number;
  /** Requests in the part, and at what split depth. */
  lines: number;
  depth: number;
  minSplitRequests: number;
  onCancelled: 'emit' | 'error';
  /** Requests of the part still without a result line, once counted (only asked for when there was output). */
  unanswered?: number;
}

export type NextStep =
  /** Every request has a result line: the part is done. */
  | { kind: 'done' }
  /** The job carried partial output: count the requests still without a result, then decide again. */
  | { kind: 'count-unanswered' }
  /** Send only the requests still without a result, as a part of their own. */
  | { kind: 'run-rest'; detail: string }
  /** Create the part again (a new attempt's name). */
  | { kind: 'resubmit'; detail: string }
  /** Send the part again as two halves. */
  | { kind: 'split-halves'; detail: string }
  /** Stop the run: the user asked for it (onCancelled 'error'). */
  | { kind: 'fail-run'; message: string }
  /** Give up on the part: its records without a result get this error. */
  | { kind: 'give-up'; failure: ResultError };

/** After a part's job ended and its output (if any) is on disk: what next. */
export function decideAfterJob(e: JobEnd): NextStep {
  if (e.state === 'SUCCEEDED') return { kind: 'done' };
  if (e.hasOutput && e.state !== 'CANCELLED') {
    if (e.unanswered === undefined) return { kind: 'count-unanswered' };
    if (e.unanswered === 0) return { kind: 'done' };
    if (e.unanswered < e.lines) {
      return { kind: 'run-rest', detail: `${e.state} with partial output: ${e.lines - e.unanswered} results kept, ${e.unanswered} requests go again` };
    }
    // Nothing came back for this part: as if there were no output.
  }
  if (e.state === 'FAILED' && e.attempt < e.maxAttempts) {
    return { kind: 'resubmit', detail: `attempt ${e.attempt} FAILED: ${e.error?.message ?? ''}` };
  }
  if (e.state === 'EXPIRED' && shouldSplitExpired(e.lines, e.depth, e.minSplitRequests)) {
    return { kind: 'split-halves', detail: 'EXPIRED: splitting in two' };
  }
  if (e.state === 'CANCELLED' && e.onCancelled === 'error') {
    return { kind: 'fail-run', message: `batch ${e.batchName} was cancelled` };
  }
  return {
    kind: 'give-up',
    failure: {
      code: e.error?.code ?? (e.state === 'EXPIRED' ? 504 : 500),
      status: `BATCH_${e.state}`,
      message:
        e.state === 'FAILED'
          ? `batch ${e.batchName} failed ${e.maxAttempts} times: ${e.error?.message ?? 'no reason given'}`
          : `batch ${e.batchName} ended ${e.state}`,
    },
  };
}

/** What the journal says a chunk needs, decided once when the chunk reaches stage 4. */
export type ResumePlan =
  /** Nothing to send: no request lines, or every result was emitted by an earlier run. */
  | { kind: 'skip' }
  /** Its results are on local disk already. */
  | { kind: 'results-on-disk'; resultsPath: string; state: BatchState; failure?: ResultError }
  /** Run it, under this attempt's names (a chunk cancelled or lost before goes again under new ones). */
  | { kind: 'run'; attempt: number };

export function planChunk(chunk: { lineCount: number; firstSeq: number; count: number }, prior: ChunkRecord | undefined, skipResults: number): ResumePlan {
  if (chunk.lineCount === 0 || chunk.firstSeq + chunk.count <= skipResults) return { kind: 'skip' };
  if (prior?.resultsPath) {
    const state = prior.failure ? (prior.failure.status.replace(/^BATCH_/, '') as BatchState) : 'SUCCEEDED';
    return { kind: 'results-on-disk', resultsPath: prior.resultsPath, state, ...(prior.failure ? { failure: prior.failure } : {}) };
  }
  return { kind: 'run', attempt: prior?.attempt ?? 0 };
}

/**
 * After a create was refused with a client error (4xx other than 429 and
 * 408): should we ask whether the part's input is what is missing? Only for
 * the whole chunk's stored input (cut parts are uploaded just before).
 */
export function mayBeInputGone(httpStatus: number, partKind: string, hasInputRef: boolean): boolean {
  if (!hasInputRef || partKind !== 'whole') return false;
  return httpStatus >= 400 && httpStatus < 500 && httpStatus !== 429 && httpStatus !== 408;
}

/** Share of the budget at which the user is warned, once. */
export const BUDGET_WARN_AT = 0.8;

export interface BudgetAsk {
  maxUsd: number;
  /** Real cost of the results on disk so far. */
  spent: number;
  /** Estimated cost held by batches sent and not yet settled. */
  reserved: number;
  /** Estimated cost of this chunk (input estimated high, output at its bound). */
  chunkCost: number;
  /** Its batch exists already (created before a crash): it is paid for whatever we decide. */
  committed: boolean;
  /** An earlier chunk did not fit: nothing new is sent after it. */
  stopped: boolean;
  /** The 80% warning was given already. */
  warned: boolean;
}

export type BudgetStep =
  /** Send it; `warn`: the budget is 80% spoken for, say so once. */
  | { kind: 'send'; warn?: string }
  /** Do not send it: its records get BUDGET_EXCEEDED. */
  | { kind: 'stop'; message: string };

/** Before a chunk's first create under a budget: send it only if spent + reserved + it fits. */
export function decideBudget(a: BudgetAsk): BudgetStep {
  const total = a.spent + a.reserved + a.chunkCost;
  const money = (n: number) => `$${n.toFixed(4)}`;
  if (!a.committed && (a.stopped || total > a.maxUsd)) {
    return {
      kind: 'stop',
      message: a.stopped
        ? `not sent: the budget of ${money(a.maxUsd)} ran out before this batch`
        : `not sent: the budget of ${money(a.maxUsd)} would be passed (${money(a.spent)} spent, ${money(a.reserved)} held by batches in flight, this batch up to ${money(a.chunkCost)})`,
    };
  }
  if (!a.warned && total >= BUDGET_WARN_AT * a.maxUsd) {
    return { kind: 'send', warn: `${Math.floor((100 * total) / a.maxUsd)}% of the budget of ${money(a.maxUsd)} is spent or held by batches sent (${money(a.spent)} spent)` };
  }
  return { kind: 'send' };
}
