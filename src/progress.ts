/** Counters shared by the stages, snapshotted into `progress` events. */
import { UsageTally } from './cost/cost.js';
import type { TokenUsage } from './internal/wire/usage.js';
import type { BatchState, JobEvent, ProgressSnapshot, ResultError } from './types.js';

const MAX_STATUSES = 64;
/** Recently finished batches remembered, so a repeated terminal event is not counted again. */
const MAX_FINISHED = 1024;

export class ProgressCounters {
  recordsIn = 0;
  invalidRecords = 0;
  chunksSpooled = 0;
  bytesSpooled = 0;
  bytesUploaded = 0;
  resultsOut = 0;
  errorsOut = 0;
  /** Error results by status; a service inventing statuses cannot grow it past MAX_STATUSES. */
  private readonly errorsByStatus = new Map<string, number>();
  tokens = { prompt: 0, candidates: 0, thoughts: 0, cached: 0, total: 0 };
  /** The same tokens by the model that answered, tier and day: what the cost is priced from. */
  private readonly usage = new UsageTally();
  /** State of each chunk's batch while it is live; finished ones only count (bounded for endless input). */
  private readonly live = new Map<number, BatchState>();
  private readonly byState = new Map<BatchState, number>();
  /**
   * Batches whose terminal state is counted. A batch can send its terminal
   * state again with a detail (keyless inline responses matched by position,
   * SUCCEEDED with no output yet): that is not a second batch. Such repeats
   * come right after the first, so the most recent names suffice (bounded).
   */
  private readonly finished = new Set<string>();

  onResult(error: ResultError | undefined): void {
    this.resultsOut++;
    if (!error) return;
    this.errorsOut++;
    const status = this.errorsByStatus.has(error.status) || this.errorsByStatus.size < MAX_STATUSES ? error.status : 'OTHER';
    this.errorsByStatus.set(status, (this.errorsByStatus.get(status) ?? 0) + 1);
  }

  /** One response's usageMetadata. */
  onUsage(u: TokenUsage): void {
    this.tokens.prompt += u.prompt;
    this.tokens.candidates += u.candidates;
    this.tokens.thoughts += u.thoughts;
    this.tokens.cached += u.cached;
    this.tokens.total += u.total;
    this.usage.add(u, u.modelVersion);
  }

  onJob(e: JobEvent): void {
    const s = e.state;
    if (s !== 'PENDING' && s !== 'RUNNING' && s !== 'SUCCEEDED' && s !== 'FAILED' && s !== 'CANCELLED' && s !== 'EXPIRED') return;
    if (s !== 'PENDING' && s !== 'RUNNING' && e.batchName !== undefined) {
      if (this.finished.has(e.batchName)) return;
      this.finished.add(e.batchName);
      if (this.finished.size > MAX_FINISHED) this.finished.delete(this.finished.values().next().value!);
    }
    const prev = this.live.get(e.chunk);
    if (prev) this.byState.set(prev, (this.byState.get(prev) ?? 1) - 1);
    this.byState.set(s, (this.byState.get(s) ?? 0) + 1);
    if (s === 'PENDING' || s === 'RUNNING') this.live.set(e.chunk, s);
    else this.live.delete(e.chunk);
  }

  snapshot(): ProgressSnapshot {
    const jobs: Partial<Record<BatchState, number>> = {};
    for (const [s, n] of this.byState) if (n > 0) jobs[s] = n;
    return {
      recordsIn: this.recordsIn,
      invalidRecords: this.invalidRecords,
      chunksSpooled: this.chunksSpooled,
      bytesSpooled: this.bytesSpooled,
      bytesUploaded: this.bytesUploaded,
      jobs,
      resultsOut: this.resultsOut,
      errorsOut: this.errorsOut,
      errorsByStatus: Object.fromEntries(this.errorsByStatus),
      tokens: { ...this.tokens },
      usage: this.usage.snapshot(),
    };
  }
}
