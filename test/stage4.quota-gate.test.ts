import { describe, expect, it } from 'vitest';
import { GeminiApiError } from '../src/backends/gemini/errors.js';
import { QuotaGate, decideOnQuota429, quotaOf, splitTarget } from '../src/stages/batch-submitter/quota-gate.js';
import { DEFAULT_QUOTA_WAIT_MS } from '../src/options/survival.js';

/** A 429 as the service error carries it (its QuotaFailure parsed once, src/backend/service-error.ts). */
const quota429 = (violations: Array<{ id?: string; metric?: string; limit?: number }>, retryAfterMs?: number) =>
  new GeminiApiError({ httpStatus: 429, status: 'RESOURCE_EXHAUSTED', detail: 'quota', route: 'POST /v1beta/models/x:batchGenerateContent', retryable: true, retryAfterMs, quotaViolations: violations });

describe('quotaOf', () => {
  it('reads the violation that has a limit, the retry hint, and only 429s of the service', () => {
    expect(quotaOf(quota429([{ id: 'BatchEnqueuedTokensPerModelPerProject', metric: 'm', limit: 3_000_000 }], 5_000))).toEqual({
      retryAfterMs: 5_000,
      quota: { limit: 3_000_000, metric: 'm', id: 'BatchEnqueuedTokensPerModelPerProject' },
    });
    expect(quotaOf(quota429([{ id: 'x' }, { id: 'EnqueuedTokens', limit: 5 }]))?.quota).toEqual({ limit: 5, id: 'EnqueuedTokens' });
    expect(quotaOf(quota429([{ limit: 0 }]))?.quota).toEqual({ limit: 0 });
    expect(quotaOf(quota429([]))).toEqual({});
    // Another quota (requests per minute) is not learned as a token limit: it only means wait.
    expect(quotaOf(quota429([{ id: 'GenerateRequestsPerMinutePerProject', limit: 10 }]))?.quota).toEqual({ id: 'GenerateRequestsPerMinutePerProject' });
    expect(quotaOf(new GeminiApiError({ httpStatus: 503, status: 'UNAVAILABLE', detail: 'x', route: 'POST /x', retryable: true }))).toBeUndefined();
    expect(quotaOf({ httpStatus: 429 })).toBeUndefined();
  });
});

describe('decideOnQuota429', () => {
  const base = { model: 'models/gemini-2.5-flash', tokens: 1000, requests: 10, oursInFlight: 0, starvedMs: 0, quotaWaitMs: 60_000, attempt: 1, random: () => 0 };

  it('a limit of 0 fails at once, naming the model and what to do', () => {
    const d = decideOnQuota429({ ...base, quota: { limit: 0, id: 'BatchEnqueuedTokensPerModel' } });
    expect(d.kind).toBe('fail');
    if (d.kind !== 'fail') return;
    expect(d.error.code).toBe('ERR_QUOTA');
    expect(d.error.message).toContain('models/gemini-2.5-flash');
    expect(d.error.message).toContain('no Gemini Batch access');
    expect(d.error.message.split('. ').length).toBe(1);
  });

  it('a request set over the limit is split into parts of half the limit', () => {
    expect(decideOnQuota429({ ...base, tokens: 5_000_000, quota: { limit: 3_000_000 } })).toEqual({ kind: 'split', limit: 3_000_000, partTokens: 1_500_000 });
    // learned earlier, not repeated in this answer
    expect(decideOnQuota429({ ...base, tokens: 5_000_000, learnedLimit: 3_000_000 }).kind).toBe('split');
  });

  it('a single request over the limit can never fit: fail, not split for ever', () => {
    const d = decideOnQuota429({ ...base, tokens: 5_000_000, requests: 1, quota: { limit: 3_000_000 } });
    expect(d.kind).toBe('fail');
  });

  it('waits for our own jobs while any are in flight, however long it has been', () => {
    expect(decideOnQuota429({ ...base, oursInFlight: 2, starvedMs: 10 * 60_000, quota: { limit: 3_000_000 } })).toEqual({ kind: 'wait-for-ours' });
  });

  it('with none of ours in flight: backs off (Retry-After when given), then fails after the bounded wait', () => {
    expect(decideOnQuota429({ ...base, retryAfterMs: 23_000 })).toEqual({ kind: 'backoff', delayMs: 23_000 });
    const b = decideOnQuota429({ ...base, attempt: 3 });
    expect(b).toEqual({ kind: 'backoff', delayMs: 8_000 });
    // never sleeps past the end of the bounded wait
    expect(decideOnQuota429({ ...base, starvedMs: 59_000, retryAfterMs: 30_000 })).toEqual({ kind: 'backoff', delayMs: 1_001 });
    const f = decideOnQuota429({ ...base, starvedMs: 60_000, quota: { limit: 3_000_000, id: 'EnqueuedTokensQ' } });
    expect(f.kind).toBe('fail');
    if (f.kind === 'fail') {
      expect(f.error.message).toMatch(/enqueued-token quota EnqueuedTokensQ \(3000000 tokens\) for models\/gemini-2.5-flash/);
      expect(f.error.message).toContain('maxBatchTokens');
    }
  });

  it('defaults: minutes, not for ever', () => {
    expect(DEFAULT_QUOTA_WAIT_MS).toBeGreaterThanOrEqual(60_000);
    expect(Number.isFinite(DEFAULT_QUOTA_WAIT_MS)).toBe(true);
    expect(splitTarget(1)).toBe(1);
  });
});

describe('QuotaGate', () => {
  it('admits while our reservations fit the learned limit and wakes a waiter when one ends', async () => {
    const gate = new QuotaGate('m', 60_000);
    gate.learn(100);
    const a = await gate.reserve(60);
    a.created();
    let admitted = false;
    const pending = gate.reserve(50).then((r) => {
      admitted = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(admitted).toBe(false);
    expect(gate.enqueuedTokens).toBe(60);
    a.release();
    const b = await pending;
    expect(admitted).toBe(true);
    expect(gate.enqueuedTokens).toBe(50);
    b.release();
    b.release(); // idempotent
    expect(gate.enqueuedTokens).toBe(0);
    expect(gate.jobsInFlight).toBe(0);
  });

  it('without a known limit, or with nothing of ours reserved, lets a create try', async () => {
    const gate = new QuotaGate('m');
    const a = await gate.reserve(10_000_000);
    const b = await gate.reserve(10_000_000);
    expect(gate.enqueuedTokens).toBe(20_000_000);
    a.release();
    b.release();
    gate.learn(100);
    const c = await gate.reserve(1_000); // over the limit, but nothing of ours holds any: the caller split it or the service decides
    expect(gate.needsSplit(1_000)).toBe(true);
    c.release();
  });

  it('learns the smallest limit and counts the bounded wait only while none of ours runs', () => {
    let t = 0;
    const gate = new QuotaGate('m', 1_000, () => t);
    expect(gate.on429(quota429([{ id: 'BatchEnqueuedTokensPerModel', limit: 500 }]), 10, 1).kind).toBe('backoff');
    expect(gate.limit).toBe(500);
    gate.learn(900);
    expect(gate.limit).toBe(500);
    t = 999;
    expect(gate.on429(quota429([{ id: 'BatchEnqueuedTokensPerModel', limit: 500 }]), 10, 1).kind).toBe('backoff');
    t = 1_000;
    expect(gate.on429(quota429([{ id: 'BatchEnqueuedTokensPerModel', limit: 500 }]), 10, 1).kind).toBe('fail');
  });

  it('a created job resets the starvation clock; with it in flight a 429 means wait for ours', async () => {
    let t = 0;
    const gate = new QuotaGate('m', 1_000, () => t);
    gate.on429(quota429([{ id: 'BatchEnqueuedTokensPerModel', limit: 500 }]), 10, 1);
    t = 900;
    const r = await gate.reserve(100);
    r.created();
    expect(gate.on429(quota429([{ id: 'BatchEnqueuedTokensPerModel', limit: 500 }]), 10, 1)).toEqual({ kind: 'wait-for-ours' });
    r.release();
    t = 1_500;
    // the streak starts again: only 0 ms starved now
    expect(gate.on429(quota429([{ id: 'BatchEnqueuedTokensPerModel', limit: 500 }]), 10, 1).kind).toBe('backoff');
  });

  it('a wait is abortable', async () => {
    const gate = new QuotaGate('m');
    gate.learn(10);
    const r = await gate.reserve(10);
    const ac = new AbortController();
    const p = gate.reserve(5, ac.signal);
    ac.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
    r.release();
    expect(gate.enqueuedTokens).toBe(0);
  });
});
