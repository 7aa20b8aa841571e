/**
 * What the parts of stage 4 share for one submitter, made once in index.ts:
 * its options as the schema resolved them, what the run lends it (backend,
 * journal, registry of work in flight with its storage budget, webhook), and
 * the run-wide bookkeeping of the stage itself (the quota gate, the bound on
 * split parts' jobs, one writer per results file). Plain data and two
 * helpers; the policy is in chunk-life.ts and decide.ts.
 */
import type { z } from 'zod/v3';
import type { BatchBackend } from '../../backend/types.js';
import { Slots } from '../../internal/concurrency/bounded.js';
import type { RunJournal } from '../../journal/types.js';
import type { submitterOptionsSchema } from '../../options/submitter.js';
import type { BudgetLedger } from '../../run/budget-ledger.js';
import type { InFlight } from '../../run/in-flight.js';
import type { BatchWebhook } from '../../run/webhook.js';
import type { JobEvent } from '../../types.js';
import type { BatchPart } from './parts.js';
import type { Pricer } from './pricer.js';
import { QuotaGate, type QuotaReservation } from './quota-gate.js';

export type SubmitterSettings = z.output<typeof submitterOptionsSchema>;

export interface StageContext {
  readonly o: SubmitterSettings;
  readonly backend: BatchBackend;
  /** Jobs are named `<runId>-<part>`. */
  readonly runId: string;
  /** Results files go here without a journal (must exist). */
  readonly dir: string;
  readonly signal: AbortSignal | undefined;
  readonly journal: RunJournal | undefined;
  /** The run's registry of inputs and jobs on the service; owns the storage budget. */
  readonly inFlight: InFlight;
  readonly webhook: BatchWebhook | undefined;
  /** The enqueued-token quota of the run's model, where the backend has one. */
  readonly gate: QuotaGate | undefined;
  /**
   * Split parts run at once (EXPIRED halves, quota parts), but their jobs
   * stay within maxJobsInFlight run-wide. Held only around one job of a part
   * (create → results), never while a part waits for its own halves, so
   * nesting cannot deadlock.
   */
  readonly partSlots: Slots;
  /** Results objects on the service per chunk, removed once the chunk's results are recorded. */
  readonly remoteResults: Map<number, string[]>;
  /** The quota each job of ours holds until it ends. */
  readonly quotaHeld: Map<string, QuotaReservation>;
  /** Estimated tokens of a part, counted once. */
  readonly tokens: WeakMap<BatchPart, number>;
  /** The tail of the appends queued per results file (appendExclusive). */
  readonly appends: Map<string, Promise<void>>;
  readonly onJob: ((e: JobEvent) => void) | undefined;
  readonly onBytesUploaded: ((n: number) => void) | undefined;
  /** The run's spending account, with the budget option (budget.ts). */
  readonly budget: BudgetLedger | undefined;
  /** Prices for the budget's estimates and costs. */
  readonly pricer: Pricer;
}

export function stageEvent(ctx: StageContext, part: Pick<BatchPart, 'chunk'>, state: JobEvent['state'], requests: number, batchName?: string, detail?: string): void {
  ctx.onJob?.({ chunk: part.chunk.index, batchName, state, requests, detail });
}

/** A job of ours now holds `r` of the quota (created, or found already made). */
export function holdQuota(ctx: StageContext, batchName: string, r: QuotaReservation): void {
  if (ctx.quotaHeld.has(batchName)) return r.release();
  ctx.quotaHeld.set(batchName, r);
}

/** The job ended (any terminal state) or is given up: its tokens are free. */
export function releaseQuota(ctx: StageContext, batchName: string): void {
  ctx.quotaHeld.get(batchName)?.release();
  ctx.quotaHeld.delete(batchName);
}

/**
 * Run `append` alone for `path`: parts of one chunk run at once and append to
 * the same results file; two streams appending at once would interleave
 * their writes and tear lines.
 */
export async function appendExclusive<T>(ctx: StageContext, path: string, append: () => Promise<T>): Promise<T> {
  const before = ctx.appends.get(path) ?? Promise.resolve();
  let done!: () => void;
  const mine = new Promise<void>((resolve) => (done = resolve));
  const tail = before.then(() => mine);
  ctx.appends.set(path, tail);
  await before;
  try {
    return await append();
  } finally {
    done();
    if (ctx.appends.get(path) === tail) ctx.appends.delete(path);
  }
}

export interface StageLoan {
  backend: BatchBackend;
  runId: string;
  dir: string;
  inFlight: InFlight;
  signal?: AbortSignal;
  journal?: RunJournal;
  webhook?: BatchWebhook;
  onJob?: (e: JobEvent) => void;
  onBytesUploaded?: (n: number) => void;
  budget?: BudgetLedger;
  pricer: Pricer;
}

export function makeStageContext(o: SubmitterSettings, loan: StageLoan): StageContext {
  return {
    o,
    backend: loan.backend,
    runId: loan.runId,
    dir: loan.dir,
    signal: loan.signal,
    journal: loan.journal,
    inFlight: loan.inFlight,
    webhook: loan.backend.limits.webhooks ? loan.webhook : undefined,
    gate: loan.backend.limits.tokenQuota ? new QuotaGate(o.model, o.quotaWaitMs) : undefined,
    partSlots: new Slots(o.maxJobsInFlight, 'split parts in flight'),
    remoteResults: new Map(),
    quotaHeld: new Map(),
    tokens: new WeakMap(),
    appends: new Map(),
    onJob: loan.onJob,
    onBytesUploaded: loan.onBytesUploaded,
    budget: loan.budget,
    pricer: loan.pricer,
  };
}
