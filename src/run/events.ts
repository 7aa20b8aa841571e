/** What a run tells its caller: progress counters the stages add to, and job events. */
import { ProgressCounters } from '../progress.js';
import type { JobEvent } from '../types.js';

export class RunEvents {
  readonly progress = new ProgressCounters();
  private readonly listeners: Array<(e: JobEvent) => void> = [];

  /** A stage reports a job's state (counted, then passed to the listeners). */
  job(e: JobEvent): void {
    this.progress.onJob(e);
    for (const l of this.listeners) l(e);
  }

  onJob(listener: (e: JobEvent) => void): void {
    this.listeners.push(listener);
  }
}
