/** Batch counts by state in progress events: right, and bounded however many chunks pass. */
import { describe, expect, it } from 'vitest';
import { ProgressCounters } from '../src/progress.js';

describe('ProgressCounters', () => {
  it('counts each batch once in its latest state', () => {
    const p = new ProgressCounters();
    const ev = (chunk: number, state: 'PENDING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'UPLOADING') => p.onJob({ chunk, state, requests: 1 });
    ev(0, 'UPLOADING');
    ev(0, 'PENDING');
    ev(1, 'PENDING');
    expect(p.snapshot().jobs).toEqual({ PENDING: 2 });
    ev(0, 'RUNNING');
    ev(0, 'FAILED');
    ev(0, 'PENDING'); // resubmitted: a new batch for the same chunk
    ev(1, 'RUNNING');
    expect(p.snapshot().jobs).toEqual({ PENDING: 1, RUNNING: 1, FAILED: 1 });
    ev(0, 'RUNNING');
    ev(0, 'SUCCEEDED');
    ev(1, 'SUCCEEDED');
    expect(p.snapshot().jobs).toEqual({ FAILED: 1, SUCCEEDED: 2 });
  });

  it('keeps no per-chunk state for finished batches', () => {
    const p = new ProgressCounters();
    for (let i = 0; i < 100_000; i++) {
      p.onJob({ chunk: i, state: 'PENDING', requests: 1 });
      p.onJob({ chunk: i, state: 'SUCCEEDED', requests: 1 });
    }
    expect(p.snapshot().jobs).toEqual({ SUCCEEDED: 100_000 });
    expect((p as unknown as { live: Map<number, unknown> }).live.size).toBe(0);
  });
});
