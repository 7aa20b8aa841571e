/**
 * Moves jobs PENDING (pendingMs) -> RUNNING (at least runningMs, and as long
 * as processing takes) -> a terminal state, and runs their requests. The
 * responses file becomes visible only when the job says SUCCEEDED.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Batch } from './batch.js';
import { TERMINAL } from './batch.js';
import type { BatchStore } from './batch-store.js';
import type { Context } from './context.js';
import { processFileJob } from './process-file.js';
import { processInlineJob } from './process-inline.js';
import { sampleIndexes } from './prng.js';
import type { MixPlan } from './result-mixer.js';

type EndState = 'SUCCEEDED' | 'FAILED' | 'EXPIRED';

export class JobRunner {
  private readonly ctx: Context;
  private readonly store: BatchStore;
  /** Jobs being processed, so close() can wait for their files to be let go. */
  private readonly active = new Set<Promise<void>>();

  constructor(ctx: Context, store: BatchStore) {
    this.ctx = ctx;
    this.store = store;
  }

  schedule(b: Batch): void {
    this.after(b, this.ctx.settings.pendingMs, () => this.startRunning(b));
  }

  private after(b: Batch, ms: number, fn: () => void): void {
    const t = setTimeout(fn, ms);
    t.unref();
    b.timers.push(t);
  }

  private startRunning(b: Batch): void {
    if (TERMINAL.has(b.state)) return;
    b.state = 'RUNNING';
    b.updateTime = this.ctx.now();
    b.runningFrom = performance.now();
    b.paceMs = this.ctx.settings.runningMs;
    const end: EndState = b.fate === 'fail' ? 'FAILED' : b.fate === 'expire' ? 'EXPIRED' : 'SUCCEEDED';
    if (end === 'FAILED') b.error = { code: 13, message: 'Batch failed (injected by the emulator).' };
    if (end !== 'SUCCEEDED' && !this.ctx.options.partialOutputOnFailure) {
      this.after(b, this.ctx.settings.runningMs, () => this.store.finish(b, end));
      return;
    }
    const p = this.run(b, end).finally(() => this.active.delete(p));
    this.active.add(p);
  }

  /**
   * What the output faults do to this job. A failed or expired job with
   * partialOutputOnFailure answers only its first half of requests.
   */
  private plan(count: number, end: EndState): MixPlan {
    const { shuffleResults, dropResults, duplicateResults } = this.ctx.settings;
    const rng = this.ctx.faults.rng;
    const drop = dropResults > 0 ? sampleIndexes(rng, count, dropResults) : new Set<number>();
    if (end !== 'SUCCEEDED') for (let i = Math.ceil(count / 2); i < count; i++) drop.add(i);
    return {
      shuffle: shuffleResults,
      drop,
      duplicate: duplicateResults > 0 ? sampleIndexes(rng, count, duplicateResults) : new Set(),
    };
  }

  private async run(b: Batch, end: EndState): Promise<void> {
    const started = performance.now();
    const signal = b.abort.signal;
    const tmp = join(this.ctx.files.dir, `.batch-${b.id}.partial`);
    try {
      if (b.input.kind === 'inline') {
        b.inlined = processInlineJob(this.ctx, b, b.input.requests, this.plan(b.input.requests.length, end));
        if (end !== 'SUCCEEDED') {
          const failed = b.inlined.filter((r) => 'error' in r).length;
          this.partialStats(b, b.inlined.length - failed, failed);
        }
        this.ctx.counters.add('resultLines', b.inlined.length);
      } else {
        const input = this.ctx.files.peek(b.input.fileId);
        if (!input) throw new Error(`input file files/${b.input.fileId} no longer exists`);
        const r = await processFileJob(this.ctx, b, this.ctx.files.binPath(input.id), tmp, this.plan(input.lines, end), signal);
        if (signal.aborted || !r.output) return;
        const sum = r.output;
        b.requestCount = r.requests;
        if (end !== 'SUCCEEDED') this.partialStats(b, r.emitted.ok, r.emitted.failed);
        this.ctx.counters.add('resultLines', sum.lines);
        await this.waitRest(b, started);
        if (TERMINAL.has(b.state)) return;
        const file = this.ctx.files.add(tmp, {
          id: `batch-${b.id}`,
          mimeType: 'application/jsonl',
          sizeBytes: sum.size,
          sha256Hex: sum.sha256Hex,
          source: 'GENERATED',
          lines: sum.lines,
        });
        b.outputFileId = file.id;
        this.store.finish(b, end);
        return;
      }
      await this.waitRest(b, started);
      this.store.finish(b, end);
    } catch (err) {
      if (!TERMINAL.has(b.state)) {
        b.error = { code: 13, message: `Batch failed: ${(err as Error).message}` };
        this.store.finish(b, 'FAILED');
      }
    } finally {
      rmSync(tmp, { force: true });
    }
  }

  /** A job that ends with partial output counts only the results it carries. */
  private partialStats(b: Batch, ok: number, failed: number): void {
    b.succeeded = ok;
    b.failed = failed;
  }

  /** A job stays RUNNING at least runningMs, so pollers see the state even for tiny jobs. */
  private async waitRest(b: Batch, started: number): Promise<void> {
    const rest = this.ctx.settings.runningMs - (performance.now() - started);
    if (rest <= 0 || TERMINAL.has(b.state)) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, rest);
      t.unref();
      b.timers.push(t);
      b.abort.signal.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.active]);
  }
}
