/**
 * What the emulator saw: tests (also ones running it in another process,
 * via GET /_emulator/counters) assert on these.
 */
import type { EmulatorCounters } from './types.js';

export class Counters {
  private readonly c: Required<EmulatorCounters> = {
    createsByDisplayName: {},
    batchesCreated: 0,
    uploadsStarted: 0,
    uploadsFinalized: 0,
    requestsByRoute: {},
    injectedErrors: 0,
    uploadCuts: 0,
    downloadCuts: 0,
    resultLines: 0,
    maxRssBytes: 0,
    webhookAttempts: 0,
    webhooksDelivered: 0,
    webhooksDropped: 0,
  };
  private readonly sampler: NodeJS.Timeout;

  constructor() {
    this.sampleRss();
    // 100 ms is fine enough to catch a buffer that balloons while a job runs.
    this.sampler = setInterval(() => this.sampleRss(), 100);
    this.sampler.unref();
  }

  private sampleRss(): void {
    const rss = process.memoryUsage.rss();
    if (rss > this.c.maxRssBytes) this.c.maxRssBytes = rss;
  }

  route(name: string): void {
    this.c.requestsByRoute[name] = (this.c.requestsByRoute[name] ?? 0) + 1;
  }

  created(displayName: string | undefined): void {
    const k = displayName ?? '';
    this.c.createsByDisplayName[k] = (this.c.createsByDisplayName[k] ?? 0) + 1;
    this.c.batchesCreated++;
  }

  add(
    field:
      | 'uploadsStarted'
      | 'uploadsFinalized'
      | 'injectedErrors'
      | 'uploadCuts'
      | 'downloadCuts'
      | 'resultLines'
      | 'webhookAttempts'
      | 'webhooksDelivered'
      | 'webhooksDropped',
    n = 1,
  ): void {
    this.c[field] += n;
  }

  snapshot(): Required<EmulatorCounters> {
    this.sampleRss();
    return structuredClone(this.c);
  }

  stop(): void {
    clearInterval(this.sampler);
  }
}
