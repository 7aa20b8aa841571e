import { describe, expect, it } from 'vitest';
import { GeminiApiError } from '../src/backends/gemini/errors.js';
import { QuotaGate, createWithinQuota } from '../src/stages/batch-submitter/quota-gate.js';

const over = (limit: number, retryAfterMs = 1) =>
  new GeminiApiError({
    httpStatus: 429,
    status: 'RESOURCE_EXHAUSTED',
    detail: 'quota',
    route: 'POST /v1beta/models/m:batchGenerateContent',
    retryable: true,
    retryAfterMs,
    quota: { metric: 'generativelanguage.googleapis.com/batch_enqueued_tokens', id: 'BatchEnqueuedTokensPerModelPerProject', limit },
  });

describe('createWithinQuota', () => {
  it('a request set over the limit the 429 names is split, and later ones are split before any create', async () => {
    const gate = new QuotaGate('m', 60_000);
    let creates = 0;
    const r = await createWithinQuota({ gate, tokens: 5_000, requests: 10, create: async () => (creates++, Promise.reject(over(3_000))) });
    expect(r).toEqual({ kind: 'split', limit: 3_000, partTokens: 1_500 });
    const r2 = await createWithinQuota({ gate, tokens: 4_000, requests: 10, create: async () => (creates++, 'batches/x') });
    expect(r2.kind).toBe('split');
    expect(creates).toBe(1);
    expect(gate.enqueuedTokens).toBe(0);
  });

  it('while one of ours holds the quota, the next create waits for it to end, then goes', async () => {
    const gate = new QuotaGate('m', 60_000);
    const first = await createWithinQuota({ gate, tokens: 2_000, requests: 5, create: async () => 'batches/a' });
    expect(first.kind).toBe('created');
    let creates = 0;
    const events: string[] = [];
    const second = createWithinQuota({
      gate,
      tokens: 2_000,
      requests: 5,
      create: async () => (++creates === 1 ? Promise.reject(over(3_000)) : 'batches/b'),
      onWait: (why) => events.push(why),
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(creates).toBe(1); // refused once, now waiting for ours, not hammering the service
    expect(events).toEqual(['ours']);
    if (first.kind === 'created') first.reservation.release();
    const r = await second;
    expect(r.kind).toBe('created');
    expect(creates).toBe(2);
    expect(gate.enqueuedTokens).toBe(2_000);
    expect(gate.jobsInFlight).toBe(1);
  });

  it('with none of ours in flight, 429s end after the bounded wait with one sentence', async () => {
    const gate = new QuotaGate('models/gemini-2.5-flash', 50);
    let creates = 0;
    const p = createWithinQuota({ gate, tokens: 100, requests: 5, create: async () => (creates++, Promise.reject(over(3_000, 5))) });
    await expect(p).rejects.toMatchObject({ code: 'ERR_QUOTA', message: expect.stringMatching(/models\/gemini-2\.5-flash.*kept refusing/) });
    expect(creates).toBeGreaterThan(1);
    expect(gate.enqueuedTokens).toBe(0);
  });

  it('a limit of 0 fails at the first answer', async () => {
    const gate = new QuotaGate('m', 60_000);
    let creates = 0;
    await expect(createWithinQuota({ gate, tokens: 1, requests: 1, create: async () => (creates++, Promise.reject(over(0))) })).rejects.toMatchObject({
      code: 'ERR_QUOTA',
      message: expect.stringContaining('no Gemini Batch access'),
    });
    expect(creates).toBe(1);
  });

  it('other errors pass through and give the tokens back', async () => {
    const gate = new QuotaGate('m');
    await expect(createWithinQuota({ gate, tokens: 1, requests: 1, create: async () => Promise.reject(new Error('boom')) })).rejects.toThrow('boom');
    expect(gate.enqueuedTokens).toBe(0);
  });

  it('a 429 on another quota is not learned as a token limit', async () => {
    const gate = new QuotaGate('m', 10_000);
    const rpm = new GeminiApiError({ httpStatus: 429, status: 'RESOURCE_EXHAUSTED', detail: 'q', route: 'r', retryable: true, retryAfterMs: 1, quota: { metric: 'requests_per_minute', limit: 10 } });
    let n = 0;
    const r = await createWithinQuota({ gate, tokens: 100, requests: 5, create: async () => (++n < 3 ? Promise.reject(rpm) : 'batches/x') });
    expect(r.kind).toBe('created');
    expect(gate.limit).toBeUndefined();
  });
});
