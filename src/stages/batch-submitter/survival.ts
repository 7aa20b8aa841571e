/**
 * What stage 4 keeps, run-wide, to survive the real service (issue 10 item 2,
 * issue 11): the enqueued-token quota gate of the run's model, the storage
 * budget of our uploads, the bound on batches of split parts running at once,
 * and the quota held by each batch of ours until it ends. The stage's
 * modules (create-once, wait-and-fetch, recovery) call into it; it holds no
 * stream and does no I/O of its own but counting a part's tokens.
 */
import { Slots } from '../../internal/concurrency/bounded.js';
import { estimateRequestTokens } from '../../internal/wire/token-estimate.js';
import { createWithinQuota } from './quota-create.js';
import { QuotaGate, type QuotaReservation } from './quota-gate.js';
import { spoolTokens } from './split-policy.js';
import { StorageBudget } from '../../run/storage-budget.js';
import { DEFAULT_ADOPT_WINDOW_MS, DEFAULT_OUTPUT_WAIT_MS, DEFAULT_QUOTA_WAIT_MS, DEFAULT_STORAGE_BUDGET_BYTES } from '../../options/survival.js';

export interface SurvivalOptions {
  model: string;
  quotaWaitMs?: number;
  adoptWindowMs?: number;
  outputWaitMs?: number;
  storageBudgetBytes?: number;
  /** The run's storage budget (the in-flight registry's), shared with the uploader; default: one of its own. */
  storage?: StorageBudget;
  /** Batches of split parts (EXPIRED halves, quota parts) running at once, run-wide (default 8). */
  maxJobsInFlight?: number;
  now?: () => number;
}

/** A part's request set as far as the quota is concerned. */
export interface QuotaPart {
  chunk: { spoolPath: string; lineCount: number; estimatedTokens?: number };
  spoolPath: string;
  lines: number;
}

/** Thrown by `create` when the part can never fit the quota: cut it into parts of at most `partTokens`. */
export class QuotaSplitNeeded extends Error {
  constructor(
    readonly limit: number,
    readonly partTokens: number,
  ) {
    super(`over the enqueued-token quota of ${limit}: split into parts of at most ${partTokens} tokens`);
    this.name = 'QuotaSplitNeeded';
  }
}

export class Survival {
  readonly gate: QuotaGate;
  readonly budget: StorageBudget;
  /**
   * Split parts run at once (EXPIRED halves, quota parts), but their batches
   * stay within maxJobsInFlight run-wide. Held only around one batch of a
   * part (create → results), never while a part waits for its own halves, so
   * nesting cannot deadlock.
   */
  readonly partSlots: Slots;
  readonly adoptWindowMs: number;
  readonly outputWaitMs: number;
  private readonly held = new Map<string, QuotaReservation>();
  /** The tail of the appends queued per results file. */
  private readonly appends = new Map<string, Promise<void>>();
  private readonly tokens = new WeakMap<object, number>();

  constructor(o: SurvivalOptions) {
    this.gate = new QuotaGate(o.model, o.quotaWaitMs ?? DEFAULT_QUOTA_WAIT_MS, o.now);
    this.budget = o.storage ?? new StorageBudget(o.storageBudgetBytes ?? DEFAULT_STORAGE_BUDGET_BYTES);
    this.partSlots = new Slots(o.maxJobsInFlight ?? 8, 'split parts in flight');
    this.adoptWindowMs = o.adoptWindowMs ?? DEFAULT_ADOPT_WINDOW_MS;
    this.outputWaitMs = o.outputWaitMs ?? DEFAULT_OUTPUT_WAIT_MS;
  }

  /** Estimated tokens of a part: the chunker's sum for a whole chunk, else counted from its lines. */
  async tokensOf(part: QuotaPart): Promise<number> {
    const known = this.tokens.get(part);
    if (known !== undefined) return known;
    const whole = part.spoolPath === part.chunk.spoolPath && part.lines === part.chunk.lineCount;
    const n = whole && part.chunk.estimatedTokens !== undefined ? part.chunk.estimatedTokens : await spoolTokens(part.spoolPath, estimateRequestTokens);
    this.tokens.set(part, n);
    return n;
  }

  /**
   * Create a part's batch under the quota: `create` is called only while our
   * own queued tokens plus this part's fit. Resolves with the batch name
   * (its tokens held until `ended`); throws QuotaSplitNeeded when the part
   * must be cut, ERR_QUOTA in one sentence when waiting cannot help.
   */
  async create(part: QuotaPart, create: () => Promise<string>, signal?: AbortSignal, onWait?: (detail: string) => void): Promise<string> {
    const tokens = await this.tokensOf(part);
    const r = await createWithinQuota({ gate: this.gate, tokens, requests: part.lines, create, signal, onWait: (_why, detail) => onWait?.(detail) });
    if (r.kind === 'split') throw new QuotaSplitNeeded(r.limit, r.partTokens);
    this.held.set(r.batchName, r.reservation);
    return r.batchName;
  }

  /** A batch of ours found already made (journal, adoption): its tokens are queued on the service. */
  async adopted(part: QuotaPart, batchName: string): Promise<void> {
    if (this.held.has(batchName)) return;
    this.held.set(batchName, this.gate.hold(await this.tokensOf(part)));
  }

  /** The batch ended (any terminal state) or is given up: its tokens are free. */
  ended(batchName: string): void {
    this.held.get(batchName)?.release();
    this.held.delete(batchName);
  }

  /**
   * Run `append` alone for `path`: parts of one chunk run at once and append
   * to the same results file; two streams appending at once would interleave
   * their writes and tear lines.
   */
  async appendExclusive<T>(path: string, append: () => Promise<T>): Promise<T> {
    const before = this.appends.get(path) ?? Promise.resolve();
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    const tail = before.then(() => mine);
    this.appends.set(path, tail);
    await before;
    try {
      return await append();
    } finally {
      done();
      if (this.appends.get(path) === tail) this.appends.delete(path);
    }
  }
}
