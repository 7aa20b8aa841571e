/**
 * Batch jobs by id, their creation ordinals, and the state changes that
 * do not involve running them (cancel, delete, the 48 h expiry).
 */
import type { Batch, BatchInput, Task } from './batch.js';
import { TERMINAL } from './batch.js';
import type { Context } from './context.js';
import { randomId } from './prng.js';
import { HttpError, notFound } from './wire.js';

export const JOB_TTL_MS = 48 * 3600 * 1000;

export interface NewBatch {
  task: Task;
  model: string;
  displayName: string | undefined;
  priority: string | undefined;
  input: BatchInput;
  requestCount: number;
}

export class BatchStore {
  private readonly batches = new Map<string, Batch>();
  private ordinal = 0;
  private seq = 0;
  private readonly ctx: Context;

  constructor(ctx: Context) {
    this.ctx = ctx;
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

  create(spec: NewBatch): Batch {
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
      id: randomId(12),
      seq: ++this.seq,
      ordinal,
      createTime: t,
      updateTime: t,
      endTime: undefined,
      state: 'PENDING',
      fate: this.ctx.faults.jobFate(ordinal),
      succeeded: 0,
      failed: 0,
      outputFileId: undefined,
      inlined: undefined,
      error: undefined,
      timers: [],
      abort: new AbortController(),
    };
    this.batches.set(b.id, b);
    return b;
  }

  get(id: string): Batch {
    const b = this.batches.get(id);
    if (!b) throw notFound(`Batch batches/${id}`);
    this.expireIfStale(b);
    return b;
  }

  all(): Batch[] {
    const list = [...this.batches.values()];
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
  }

  cancel(id: string): void {
    this.finish(this.get(id), 'CANCELLED');
  }

  delete(id: string): void {
    const b = this.get(id);
    for (const t of b.timers) clearTimeout(t);
    b.abort.abort();
    this.batches.delete(id);
  }

  /** Jobs pending or running past 48 h on the (possibly simulated) clock expire, like the real ones. */
  private expireIfStale(b: Batch): void {
    if (!TERMINAL.has(b.state) && this.ctx.now() - b.createTime > JOB_TTL_MS) this.finish(b, 'EXPIRED');
  }

  closeAll(): void {
    for (const b of this.batches.values()) {
      for (const t of b.timers) clearTimeout(t);
      b.abort.abort();
    }
  }
}
