/**
 * waitForBatch's poll policy: x1.5 backoff capped at a fraction of the job's
 * age, so a job that ends right after a poll is noticed within that fraction.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jobAgeMs, nextPollDelay, pollPolicy } from '../src/backends/gemini/poll-policy.js';
import { createGeminiClient } from '../src/backends/gemini/client.js';
import { sendJson, startServer } from './gemini.helpers.js';

/** Poll times (ms since the job began) of a job polled from age 0 until `until`. */
function schedule(policy: ReturnType<typeof pollPolicy>, until: number): number[] {
  const times = [0];
  let interval = policy.initialMs;
  for (let t = 0; t < until && times.length < 2_000; ) {
    t += interval;
    times.push(t);
    interval = nextPollDelay(interval, t, policy);
  }
  return times;
}

describe('poll policy', () => {
  it('property: every gap is at most max(initialMs, ageFraction x age at the poll before), and at most maxMs', () => {
    fc.assert(
      fc.property(fc.integer({ min: 10, max: 10_000 }), fc.integer({ min: 10, max: 120_000 }), fc.double({ min: 0.05, max: 1, noNaN: true }), (initial, max, fraction) => {
        const policy = pollPolicy({ initialMs: initial, maxMs: max, ageFraction: fraction });
        const times = schedule(policy, 3_600_000);
        for (let k = 1; k < times.length; k++) {
          const gap = times[k]! - times[k - 1]!;
          expect(gap).toBeLessThanOrEqual(Math.min(policy.maxMs, Math.max(policy.initialMs, fraction * times[k - 1]!)) + 1e-6);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('defaults: a job of 10 minutes is noticed within 20% of its age, with a bounded number of polls', () => {
    const policy = pollPolicy({ initialMs: 2_000, maxMs: 60_000 });
    const times = schedule(policy, 600_000);
    const worst = Math.max(...times.slice(1).map((t, k) => (t - times[k]!) / Math.max(times[k]!, 1)).slice(5));
    expect(worst).toBeLessThanOrEqual(0.2 + 1e-9);
    // Plain x1.5 backoff makes 18 polls in 10 minutes (30 with the cap): a few more, never hundreds.
    expect(times.length).toBeLessThan(45);
  });

  it('the age comes from createTime when plausible, else from when we began waiting', () => {
    const now = Date.parse('2026-01-01T12:00:00Z');
    expect(jobAgeMs({ createTime: '2026-01-01T11:00:00.123456789Z' }, now - 1_000, now)).toBe(3_600_000 - 123);
    expect(jobAgeMs({ createTime: 'garbage' }, now - 5_000, now)).toBe(5_000);
    expect(jobAgeMs({ createTime: '2026-01-01T12:05:00Z' }, now - 5_000, now)).toBe(5_000); // service clock ahead
    expect(jobAgeMs({}, now - 7_000, now)).toBe(7_000);
  });
});

describe('waitForBatch pause hook (webhook hints)', () => {
  it('polls when the pause ends: a hint that resolves at once means one GET per hint, whatever the interval', async () => {
    let gets = 0;
    const server = await startServer((_req, res) => {
      gets++;
      sendJson(res, 200, { name: 'batches/b', ...(gets >= 3 ? { done: true } : {}), metadata: { state: gets >= 3 ? 'BATCH_STATE_SUCCEEDED' : 'BATCH_STATE_RUNNING' } });
    });
    const client = createGeminiClient({ baseUrl: server.url, apiKey: 'k' });
    try {
      const asked: number[] = [];
      const op = await client.batches.waitForBatch('b', {
        pollInterval: { initialMs: 600_000, maxMs: 600_000 },
        pause: async (ms) => void asked.push(ms),
      });
      expect(op.state).toBe('SUCCEEDED');
      expect(gets).toBe(3);
      expect(asked).toEqual([600_000, 600_000]);
    } finally {
      await client.close();
      await server.close();
    }
  });
});
