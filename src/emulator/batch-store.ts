/**
 * Batch jobs by id, their creation ordinals, and the state changes that
 * do not involve running them (cancel, delete, the 48 h expiry).
 */
import type { Batch, BatchInput, BatchWebhookConfig, Task } from './batch.js';
import { TERMINAL, shownCounts } from './batch.js';
import type { Context } from './context.js';
import { randomId } from './prng.js';
import { limitFor, quotaExceeded } from './quota.js';
import { HttpError, notFound } from './wire.js';

export const JOB_TTL_MS = 48 * 3600 * 1000;

export interface NewBatch {
  task: Task;
  model: string;
  displayName: string | undefined;
  priority: string | undefined;
  input: BatchInput;
  requestCount: number;
  webhook: BatchWebhookConfig | undefined;
}

/** Batch ids are 36 chars of [a-z0-9], so output files are files/batch-<36>: 42 chars. */
export const BATCH_ID_LENGTH = 36;

export class BatchStore {
  private readonly batches = new Map<string, Batch>();
  private ordinal = 0;
  private seq = 0;
  private readonly ctx: Context;

  /** Called once when a job reaches a terminal state (webhook events). */
  onFinish: (b: Batch) => void = () => {};

  constructor(ctx: Context) {
    this.ctx = ctx;
  }

  /** Tokens of a model's jobs not yet finished, deleted ones included: a delete does not cancel. */
  enqueuedTokens(model: string): number {
    let n = 0;
    for (const b of this.batches.values()) {
      this.expireIfStale(b);
      if (!TERMINAL.has(b.state) && b.model === model) n += b.tokens;
    }
    return n;
  }

  /** The enqueued-token limit for this model, or undefined when there is none. */
  tokenLimit(model: string): number | undefined {
    return limitFor(this.ctx.settings.enqueuedTokenLimit, model);
  }

  /** Requests in jobs not yet finished: what maxEnqueuedRequests limits. */
  enqueued(): number {
    let n = 0;
    for (const b of this.batches.values()) {
      this.expireIfStale(b);
      if (!TERMINAL.has(b.state)) n += b.requestCount;
    }
    return n;
  }

  create(spec: NewBatch, tokens: number): Batch {
    const limit = this.tokenLimit(spec.model);
    if (limit !== undefined) {
      const enqueued = this.enqueuedTokens(spec.model);
      if (limit === 0 || enqueued + tokens > limit) {
        throw quotaExceeded(spec.model, limit, enqueued, tokens, this.ctx.options.quotaRetryDelaySeconds);
      }
    }
    const max = this.ctx.settings.maxEnqueuedRequests;
    if (max !== undefined && this.enqueued() + spec.requestCount > max) {
      throw new HttpError(
        429,
        `Resource has been exhausted: enqueued requests would exceed the limit of ${max} ` +
          `(${this.enqueued()} enqueued, this batch has ${spec.requestCount}).`,
        { details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'RATE_LIMIT_EXCEEDED' }] },
      );
    }
    const t = this.ctx.now();
    const ordinal = ++this.ordinal;
    const b: Batch = {
      ...spec,
      id: randomId(BATCH_ID_LENGTH),
      seq: ++this.seq,
      ordinal,
      createTime: t,
      updateTime: t,
      endTime: undefined,
      state: 'PENDING',
      fate: this.ctx.faults.jobFate(ordinal),
      succeeded: 0,
      failed: 0,
      runningFrom: undefined,
      paceMs: 0,
      outputFileId: undefined,
      inlined: undefined,
      error: undefined,
      timers: [],
      abort: new AbortController(),
      tokens,
      deleted: false,
      outputHiddenPolls: 0,
      listedFrom: t + this.ctx.settings.listLagMs,
    };
    this.batches.set(b.id, b);
    return b;
  }

  get(id: string): Batch {
    const b = this.batches.get(id);
    if (!b || b.deleted) throw notFound(`Batch batches/${id}`);
    this.expireIfStale(b);
    return b;
  }

  /** What batches.list shows: not deleted, and past the list lag. */
  listed(): Batch[] {
    const t = this.ctx.now();
    const list = [...this.batches.values()].filter((b) => !b.deleted && b.listedFrom <= t);
    for (const b of list) this.expireIfStale(b);
    return list;
  }

  /** Moves a live job to a terminal state and stops whatever it was doing. */
  finish(b: Batch, state: 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'EXPIRED'): void {
    if (TERMINAL.has(b.state)) return;
    for (const t of b.timers) clearTimeout(t);
    b.timers = [];
    if (state !== 'SUCCEEDED') b.abort.abort();
    const t = this.ctx.now();
    b.state = state;
    b.updateTime = t;
    b.endTime = t;
    if (state === 'SUCCEEDED') b.outputHiddenPolls = this.ctx.settings.succeededWithoutOutputPolls;
    // A deleted job that ends is gone for good; until then it ran and counted, unseen.
    if (b.deleted) this.batches.delete(b.id);
    this.onFinish(b);
  }

  cancel(id: string): void {
    this.finish(this.stopped(this.get(id)), 'CANCELLED');
  }

  /** A job stopped before its end answered only what it had shown so far. */
  private stopped(b: Batch): Batch {
    if (!TERMINAL.has(b.state)) ({ succeeded: b.succeeded, failed: b.failed } = shownCounts(b));
    return b;
  }

  /**
   * Removes the job record only: like the service's, it "does not cancel the
   * operation". A live job keeps running (and counting against the quota);
   * a finished one is forgotten at once.
   */
  delete(id: string): void {
    const b = this.get(id);
    b.deleted = true;
    if (TERMINAL.has(b.state)) this.batches.delete(id);
  }

  /** Jobs pending or running past 48 h on the (possibly simulated) clock expire, like the real ones. */
  private expireIfStale(b: Batch): void {
    if (!TERMINAL.has(b.state) && this.ctx.now() - b.createTime > JOB_TTL_MS) this.finish(this.stopped(b), 'EXPIRED');
  }

  closeAll(): void {
    for (const b of this.batches.values()) {
      for (const t of b.timers) clearTimeout(t);
      b.abort.abort();
    }
  }
}
