/** The one backoff helper: its arithmetic as a table, its budgets, and its abortable sleep. */
import { describe, expect, it } from 'vitest';
import { nextDelay, sleep, type BackoffOptions } from '../src/internal/backoff.js';

const base: BackoffOptions = { initialMs: 100, maxMs: 1_000, factor: 2, jitter: 0, maxAttempts: Infinity, maxElapsedMs: Infinity };

describe('nextDelay', () => {
  it.each([
    // attempt, options, rand, state, expected
    { name: 'first wait is initialMs', attempt: 1, o: {}, rand: 0.5, state: {}, want: 100 },
    { name: 'doubles per attempt', attempt: 3, o: {}, rand: 0.5, state: {}, want: 400 },
    { name: 'capped at maxMs', attempt: 9, o: {}, rand: 0.5, state: {}, want: 1_000 },
    { name: 'factor 1.5', attempt: 3, o: { factor: 1.5 }, rand: 0.5, state: {}, want: 225 },
    { name: 'full jitter, rand 0', attempt: 3, o: { jitter: 1 }, rand: 0, state: {}, want: 0 },
    { name: 'full jitter, rand near 1', attempt: 3, o: { jitter: 1 }, rand: 0.999, state: {}, want: 399 },
    { name: 'half jitter, rand 0: half the wait', attempt: 3, o: { jitter: 0.5 }, rand: 0, state: {}, want: 200 },
    { name: 'jitter above 1 is clamped', attempt: 1, o: { jitter: 7 }, rand: 0.5, state: {}, want: 50 },
    { name: 'a server hint is waited as given', attempt: 1, o: {}, rand: 0.5, state: { hintMs: 5_000 }, want: 5_000 },
    { name: 'a short hint is taken too (the service knows best)', attempt: 3, o: {}, rand: 0.5, state: { hintMs: 10 }, want: 10 },
    { name: 'a hint is still bounded by maxAttempts', attempt: 2, o: { maxAttempts: 2 }, rand: 0.5, state: { hintMs: 10 }, want: undefined },
    { name: 'last attempt spent', attempt: 4, o: { maxAttempts: 4 }, rand: 0.5, state: {}, want: undefined },
    { name: 'one before the last may still wait', attempt: 3, o: { maxAttempts: 4 }, rand: 0.5, state: {}, want: 400 },
    { name: 'a wait ending past maxElapsedMs is refused', attempt: 2, o: { maxElapsedMs: 1_000 }, rand: 0.5, state: { elapsedMs: 900 }, want: undefined },
    { name: 'a wait ending exactly at maxElapsedMs is allowed', attempt: 2, o: { maxElapsedMs: 1_100 }, rand: 0.5, state: { elapsedMs: 900 }, want: 200 },
    { name: 'a hint past the budget is refused', attempt: 1, o: { maxElapsedMs: 1_000 }, rand: 0.5, state: { hintMs: 2_000 }, want: undefined },
    { name: 'maxAttempts 1: never a retry', attempt: 1, o: { maxAttempts: 1 }, rand: 0.5, state: {}, want: undefined },
    { name: 'attempt 0 is not an attempt', attempt: 0, o: {}, rand: 0.5, state: {}, want: undefined },
    { name: 'a huge attempt does not overflow', attempt: 5_000, o: {}, rand: 0.5, state: {}, want: 1_000 },
  ])('$name', ({ attempt, o, rand, state, want }) => {
    expect(nextDelay(attempt, { ...base, ...o }, () => rand, state)).toBe(want);
  });

  it('draws from Math.random by default and stays inside [0, ceiling]', () => {
    for (let i = 0; i < 200; i++) {
      const d = nextDelay(4, { ...base, jitter: 1 });
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(800);
    }
  });
});

describe('sleep', () => {
  it('waits about as long as asked', async () => {
    const t0 = Date.now();
    await sleep(30);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(25);
  });

  it('rejects with ERR_ABORTED at once when the signal fires, or has fired', async () => {
    const ac = new AbortController();
    const t0 = Date.now();
    setTimeout(() => ac.abort(), 20);
    await expect(sleep(10_000, ac.signal)).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    expect(Date.now() - t0).toBeLessThan(1_000);
    await expect(sleep(10, ac.signal)).rejects.toMatchObject({ code: 'ERR_ABORTED' });
  });
});
