/**
 * The run's spending account under a budget (issue 20): what was spent (the
 * journal's batch costs, resumed sessions included), what batches in flight
 * hold reserved, and where sending stopped. Stage 4 reserves and settles; the
 * run and its caller read it (summary, exit code, whether the run may be
 * recorded complete). Plain bookkeeping: the decisions are decideBudget's.
 */
import type { BudgetSettings } from '../options/budget.js';
import type { BatchCost, RunJournal } from '../journal/types.js';

export interface BudgetReport {
  maxUsd: number;
  /** Real cost of the results on disk, this run's whole history. */
  spentUsd: number;
  /** Estimated cost of batches sent and not yet settled. */
  reservedUsd: number;
  /** The first record not sent because of the budget; undefined: every record was sent. */
  stoppedAtSeq: number | undefined;
  /** Why it stopped, in one sentence. */
  stopMessage: string | undefined;
}

export class BudgetLedger {
  readonly maxUsd: number;
  readonly onExceed: BudgetSettings['onExceed'];
  readonly outputTokens: number | undefined;
  /** Batch name → its cost (settled). */
  private readonly costs = new Map<string, number>();
  /** Chunk index → its reservation. */
  private readonly reservations = new Map<number, number>();
  /** Batches cancelled because the budget ran out (onExceed 'cancel'). */
  readonly cancelled = new Set<string>();
  private stop: { seq: number; message: string } | undefined;
  /** The 80% warning was given (once per session). */
  warned = false;

  constructor(settings: BudgetSettings, journal?: Pick<RunJournal, 'costs'>) {
    this.maxUsd = settings.maxUsd;
    this.onExceed = settings.onExceed;
    this.outputTokens = settings.outputTokens;
    for (const c of journal?.costs() ?? []) this.costs.set(c.batch, c.usd);
  }

  get spentUsd(): number {
    let s = 0;
    for (const v of this.costs.values()) s += v;
    return s;
  }

  get reservedUsd(): number {
    let s = 0;
    for (const v of this.reservations.values()) s += v;
    return s;
  }

  get stopped(): boolean {
    return this.stop !== undefined;
  }

  reserve(index: number, usd: number): void {
    this.reservations.set(index, usd);
  }

  /** What chunk `index` holds reserved (0 when nothing). */
  reservedFor(index: number): number {
    return this.reservations.get(index) ?? 0;
  }

  /** The chunk's results are on disk: its reservation becomes the real cost of its batch (replacing one recorded before). */
  settle(index: number, cost: Pick<BatchCost, 'batch' | 'usd'> | undefined): void {
    this.reservations.delete(index);
    if (cost) this.costs.set(cost.batch, cost.usd);
  }

  /** Sending stops at `seq` (the lowest such record wins); true when this lowered it. */
  stopAt(seq: number, message: string): boolean {
    if (this.stop && this.stop.seq <= seq) return false;
    this.stop = { seq, message: this.stop?.message ?? message };
    return true;
  }

  report(): BudgetReport {
    return { maxUsd: this.maxUsd, spentUsd: this.spentUsd, reservedUsd: this.reservedUsd, stoppedAtSeq: this.stop?.seq, stopMessage: this.stop?.message };
  }
}

/** $1.234 for sums a person reads; four decimals under a dollar so small runs do not all show $0.00. */
export function usd(n: number): string {
  return `$${n < 1 ? n.toFixed(4) : n.toFixed(2)}`;
}
