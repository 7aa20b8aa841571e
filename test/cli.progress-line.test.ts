/**
 * The live progress line as a terminal shows it: on 80 columns it fits with
 * results, elapsed time and ETA first; the ETA comes from completed work and
 * counts down (never up) while batches wait; an inline run (nothing uploaded)
 * does not claim "0.0 MB uploaded". Drawn through the tty reporter, on a clock
 * the test moves.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createReporter, type Reporter } from '../src/cli/reporter.js';
import type { ProgressSnapshot } from '../src/types.js';

const snapshot = (over: Partial<ProgressSnapshot>): ProgressSnapshot => ({
  recordsIn: 0,
  invalidRecords: 0,
  chunksSpooled: 0,
  bytesSpooled: 0,
  bytesUploaded: 0,
  jobs: {},
  resultsOut: 0,
  errorsOut: 0,
  errorsByStatus: {},
  tokens: { prompt: 0, candidates: 0, thoughts: 0, cached: 0, total: 0 },
  ...over,
});

let drawn: string[];
let reporter: Reporter;
const columns = Object.getOwnPropertyDescriptor(process.stderr, 'columns');

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
  Object.defineProperty(process.stderr, 'columns', { value: 80, configurable: true });
  drawn = [];
  reporter = createReporter('tty', (t) => void drawn.push(t));
});
afterEach(() => {
  reporter.stop();
  vi.useRealTimers();
  if (columns) Object.defineProperty(process.stderr, 'columns', columns);
  else delete (process.stderr as { columns?: number }).columns;
});

/** The last line drawn, without the carriage return and erase-line codes. */
const last = (): string => drawn.filter((t) => t.length > 6).at(-1)!.replace(/^\r\x1b\[2K/, '');

/** Results written as the run would report them, at `atMs` after the start. */
function written(n: number, p: ProgressSnapshot, atMs: number): void {
  vi.setSystemTime(1_000_000 + atMs);
  reporter.view.onWritten(n);
  reporter.progress(p);
}

describe('the progress line on an 80-column terminal', () => {
  const busy = snapshot({
    recordsIn: 1_234_567,
    bytesUploaded: 987_654_321,
    jobs: { PENDING: 3, RUNNING: 12, SUCCEEDED: 40, FAILED: 1 },
  });

  it('fits, with results, elapsed time and ETA first', () => {
    reporter.view.inputDone = true;
    written(123_456, busy, 125_000);
    const line = last();
    expect(line.length).toBeLessThan(80);
    expect(line).toMatch(/^results 123,456 of 1,234,567 · 2:05 · ETA [\d:]+ · /);
    expect(line).not.toContain('…');
  });

  it('keeps whole parts only: what does not fit is left out, not cut mid-word', () => {
    reporter.view.inputDone = true;
    written(123_456, busy, 125_000);
    const parts = last().split(' · ');
    expect(parts.at(-1)).not.toMatch(/…$/);
    for (const p of parts) expect(['results', 'ETA', 'read', 'batches:'].some((w) => p.startsWith(w)) || /^\d/.test(p)).toBe(true);
  });

  it('has an ETA that does not grow while batches wait, and comes from completed work', () => {
    reporter.view.inputDone = true;
    const p = snapshot({ recordsIn: 1000, jobs: { RUNNING: 9, SUCCEEDED: 1 } });
    written(100, p, 10_000);
    const eta = (): string => /ETA (.+?)(?: · |$)/.exec(last())![1]!;
    // 100 results in 10 s: 900 more take 90 s.
    expect(eta()).toBe('1:30');
    // 30 s later nothing more has come in (batches still running): it counts down, it does not grow.
    vi.setSystemTime(1_000_000 + 40_000);
    reporter.progress(p);
    expect(eta()).toBe('1:00');
    vi.setSystemTime(1_000_000 + 200_000);
    reporter.progress(p);
    expect(last()).toContain('ETA any moment');
  });

  it('an inline run does not say "0.0 MB uploaded"', () => {
    written(0, snapshot({ recordsIn: 50, jobs: { RUNNING: 1 } }), 2_000);
    expect(last()).not.toContain('MB uploaded');
    written(0, snapshot({ recordsIn: 50, bytesUploaded: 2_500_000, jobs: { RUNNING: 1 } }), 3_000);
    expect(last()).toContain('2.5 MB uploaded');
  });
});
