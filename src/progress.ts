/** Counters shared by the stages, snapshotted into `progress` events. */
import type { BatchState, JobEvent, ProgressSnapshot } from './types.js';

export class ProgressCounters {
  recordsIn = 0;
  invalidRecords = 0;
  chunksSpooled = 0;
  bytesSpooled = 0;
  bytesUploaded = 0;
  resultsOut = 0;
  errorsOut = 0;
  tokens = { prompt: 0, candidates: 0, total: 0 };
  private readonly jobStates = new Map<number, BatchState>();

  onJob(e: JobEvent): void {
    if (e.state === 'PENDING' || e.state === 'RUNNING' || e.state === 'SUCCEEDED' || e.state === 'FAILED' || e.state === 'CANCELLED' || e.state === 'EXPIRED') {
      this.jobStates.set(e.chunk, e.state);
    }
  }

  snapshot(): ProgressSnapshot {
    const jobs: Partial<Record<BatchState, number>> = {};
    for (const s of this.jobStates.values()) jobs[s] = (jobs[s] ?? 0) + 1;
    return {
      recordsIn: this.recordsIn,
      invalidRecords: this.invalidRecords,
      chunksSpooled: this.chunksSpooled,
      bytesSpooled: this.bytesSpooled,
      bytesUploaded: this.bytesUploaded,
      jobs,
      resultsOut: this.resultsOut,
      errorsOut: this.errorsOut,
      tokens: { ...this.tokens },
    };
  }
}
