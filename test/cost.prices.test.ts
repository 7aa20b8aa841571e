/** The price table: dates, tiers, cache price, the model that answered, routed and retired names, a user's table. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { costOfUsage, estimateChunkCost, PriceMemo, priceTally, reserveFor, UsageTally } from '../src/cost/cost.js';
import { parsePriceTable, priceOf } from '../src/cost/prices.js';
import { outputAssumption } from '../src/cost/output-assumption.js';

const M = 1_000_000;
const day = (d: string) => new Date(`${d}T12:00:00Z`);

describe('priceOf', () => {
  it('a price that changes on a date changes on that date (UTC)', () => {
    expect(priceOf('gemini-3.8-flash', day('2026-12-31'))?.price).toMatchObject({ input: 0.375, output: 1.875 });
    expect(priceOf('gemini-3.8-flash', new Date('2026-12-31T23:59:59Z'))?.price.input).toBe(0.375);
    expect(priceOf('gemini-3.8-flash', new Date('2027-01-01T00:00:00Z'))?.price).toMatchObject({ input: 0.75, output: 3.75 });
  });

  it('routed names are priced as the model they route to; modelVersion suffixes and models/ are dropped', () => {
    expect(priceOf('gemini-3.5-flash', day('2026-12-01'))).toMatchObject({ model: 'gemini-3.6-flash', price: { input: 0.75 } });
    expect(priceOf('models/gemini-3.7-flash', day('2027-02-01'))).toMatchObject({ model: 'gemini-3.8-flash', price: { input: 0.75 } });
    expect(priceOf('gemini-3-flash-preview@default')).toMatchObject({ model: 'gemini-3-flash-preview', price: { input: 0.25, output: 1.5 } });
    expect(priceOf('gemini-2.5-flash-preview-09-2025')?.model).toBe('gemini-2.5-flash');
    expect(priceOf('gemini-2.5-flash-lite')?.price.input).toBe(0.05);
  });

  it('retired, unknown and other models of a family have no price', () => {
    for (const m of ['gemini-2.0-flash', 'gemini-2.0-flash-lite', 'text-embedding-004', 'gemini-4-argon', 'gemini-2.5-flash-image', 'gemini-2.5-flashy', 'my-model']) {
      expect(priceOf(m), m).toBeUndefined();
    }
  });

  it('a user table adds models and overrides built-in ones, names as given or with models/', () => {
    const user = parsePriceTable('{"models/gemini-4-argon": {"input": 2, "output": 8}, "gemini-2.5-flash": {"input": 1, "output": 2, "cached": 0.5}}');
    expect(priceOf('gemini-4-argon', undefined, user)?.price).toEqual({ input: 2, output: 8 });
    expect(priceOf('gemini-2.5-flash', undefined, user)?.price.input).toBe(1);
    expect(() => parsePriceTable('{"x": {"input": -1, "output": 1}}', '--prices p.json')).toThrow(/^--prices p\.json: x\.input/);
    expect(() => parsePriceTable('{"x": {"input": 1}}')).toThrow(/x\.output Required/);
    expect(() => parsePriceTable('not json')).toThrow(/prices is not JSON/);
  });
});

describe('costOfUsage', () => {
  it('cached tokens at the cache price, thinking billed as output', () => {
    const u = { prompt: M, cached: 400_000, candidates: 100_000, thoughts: 100_000 };
    expect(costOfUsage(u, 'gemini-2.5-flash')).toBeCloseTo(0.6 * 0.15 + 0.4 * 0.03 + 0.2 * 1.25, 10);
    // No cache price known: cached tokens bill at the input price, never less.
    expect(costOfUsage(u, 'gemini-3-flash-preview')).toBeCloseTo(1 * 0.25 + 0.2 * 1.5, 10);
  });

  it('the higher tier per request, on its own promptTokenCount', () => {
    const small = { prompt: 200_000, candidates: 1_000 };
    const big = { prompt: 200_001, candidates: 1_000 };
    expect(costOfUsage(small, 'gemini-2.5-pro')).toBeCloseTo((200_000 * 0.625 + 1_000 * 5) / M, 10);
    expect(costOfUsage(big, 'gemini-2.5-pro')).toBeCloseTo((200_001 * 1.25 + 1_000 * 7.5) / M, 10);
    expect(costOfUsage(big, 'gemini-3.1-pro-preview')).toBeCloseTo((200_001 * 2 + 1_000 * 9) / M, 10);
    // A model with one tier keeps its price.
    expect(costOfUsage(big, 'gemini-2.5-flash')).toBeCloseTo((200_001 * 0.15 + 1_000 * 1.25) / M, 10);
  });

  it('priced by the modelVersion that answered, the requested model as fallback; unknown is undefined, not 0', () => {
    const u = { prompt: M, candidates: 0 };
    expect(costOfUsage(u, 'gemini-3.6-flash', undefined, { requested: 'gemini-3.5-flash' })).toBeCloseTo(0.75, 10);
    expect(costOfUsage(u, undefined, undefined, { requested: 'gemini-3.5-flash' })).toBeCloseTo(0.75, 10);
    expect(costOfUsage(u, 'gemini-4-argon', undefined, { requested: 'gemini-2.5-flash' })).toBeUndefined();
    expect(costOfUsage(u, 'gemini-4-argon', undefined, { prices: { 'gemini-4-argon': { input: 3, output: 9 } } })).toBeCloseTo(3, 10);
  });
});

describe('UsageTally + priceTally', () => {
  it('prices each response in its own tier, on its own day, by the model that answered', () => {
    const t = new UsageTally();
    t.add({ prompt: 100, candidates: 10 }, 'gemini-2.5-pro', day('2026-12-01'));
    t.add({ prompt: 300_000, candidates: 10 }, 'gemini-2.5-pro', day('2026-12-01'));
    t.add({ prompt: M, candidates: 0 }, 'gemini-3.8-flash', day('2026-12-31'));
    t.add({ prompt: M, candidates: 0 }, 'gemini-3.8-flash', day('2027-01-01'));
    const one = (u: { prompt: number; candidates: number }, m: string, d: string) => costOfUsage(u, m, day(d))!;
    const expected =
      one({ prompt: 100, candidates: 10 }, 'gemini-2.5-pro', '2026-12-01') +
      one({ prompt: 300_000, candidates: 10 }, 'gemini-2.5-pro', '2026-12-01') +
      0.375 + 0.75;
    const cost = priceTally(t.snapshot(), 'gemini-2.5-pro');
    expect(cost.usd).toBeCloseTo(expected, 10);
    expect(cost.byModel.map((m) => m.model).sort()).toEqual(['gemini-2.5-pro', 'gemini-3.8-flash']);
  });

  it('a response without modelVersion is the requested model; one unknown model makes the total unknown', () => {
    const t = new UsageTally();
    t.add({ prompt: M, candidates: 0 }, undefined);
    expect(priceTally(t.snapshot(), 'gemini-3.7-flash', {}).byModel[0]?.model).toBe('gemini-3.8-flash');
    t.add({ prompt: M, candidates: 0 }, 'gemini-4-argon');
    const cost = priceTally(t.snapshot(), 'gemini-2.5-flash');
    expect(cost.usd).toBeUndefined();
    expect(cost.unknownModels).toEqual(['gemini-4-argon']);
    expect(cost.knownUsd).toBeCloseTo(0.15, 10);
    expect(priceTally(t.snapshot(), 'gemini-2.5-flash', { 'gemini-4-argon': { input: 1, output: 1 } }).usd).toBeCloseTo(1.15, 10);
  });
});

describe('estimateChunkCost / reserveFor', () => {
  it('low: input and the smallest answer; high: input and the output assumption; unknown output reserves nothing', () => {
    const c = estimateChunkCost({ inputTokens: M, requests: 1000, outputTokens: 500_000 }, 'gemini-2.5-flash')!;
    expect(c.low).toBeCloseTo(0.15 + (1000 * 1.25) / M, 10);
    expect(c.high).toBeCloseTo(0.15 + 0.5 * 1.25, 10);
    expect(reserveFor({ inputTokens: M, requests: 1000, outputTokens: 500_000 }, 'gemini-2.5-flash')).toBe(c.high);
    expect(reserveFor({ inputTokens: M, requests: 1000 }, 'gemini-2.5-flash')).toBeUndefined();
    expect(estimateChunkCost({ inputTokens: M, requests: 1 }, 'gemini-4-argon')).toBeUndefined();
  });
});

describe('outputAssumption', () => {
  const line = (request: unknown) => Buffer.from(JSON.stringify({ key: '0:a', request }));
  it('maxOutputTokens plus the thinking budget, read on the bytes', () => {
    expect(outputAssumption(line({ contents: [], generationConfig: { maxOutputTokens: 100 } }))).toBe(100);
    expect(outputAssumption(line({ contents: [{ parts: [{ text: '"maxOutputTokens": 9' }] }], generationConfig: { temperature: 0, maxOutputTokens: 100, thinkingConfig: { thinkingBudget: 512 } } }))).toBe(612);
    expect(outputAssumption(line({ generation_config: { max_output_tokens: '7', thinking_config: { thinking_budget: -1 } } }))).toBe(7);
    expect(outputAssumption(line({ contents: [{ parts: [{ text: 'x' }] }] }))).toBeUndefined();
  });
});

describe('PriceMemo', () => {
  it('prices a stream of responses exactly as costOfUsage prices each one', () => {
    const models = [undefined, '', 'gemini-3.8-flash', 'gemini-3.7-flash', 'gemini-3-flash-preview@default', 'models/gemini-2.5-flash', 'no-such-model', 'mine-1'];
    // Across the 2027-01-01 price change, and hours either side of midnight.
    const times = ['2026-12-31T00:00:00Z', '2026-12-31T23:59:59.999Z', '2027-01-01T00:00:00Z', '2027-01-01T13:00:00Z', '2027-01-02T00:00:00Z'].map((t) => new Date(t));
    const prices = parsePriceTable(JSON.stringify({ 'mine-1': { input: 1, output: 2 } }));
    const response = fc.record({
      u: fc.record({ prompt: fc.nat({ max: 400_000 }), candidates: fc.nat({ max: 9000 }), thoughts: fc.option(fc.nat({ max: 9000 }), { nil: undefined }), cached: fc.option(fc.nat({ max: 400_000 }), { nil: undefined }) }),
      modelVersion: fc.constantFrom(...models),
      requested: fc.constantFrom(undefined, 'gemini-3.8-flash', 'mine-1', 'nope'),
      at: fc.constantFrom(...times),
    });
    fc.assert(
      fc.property(fc.array(response, { maxLength: 40 }), (stream) => {
        const memo = new PriceMemo(prices);
        for (const r of stream) {
          expect(memo.costOf(r.u, r.modelVersion, r.requested, r.at)).toBe(costOfUsage(r.u, r.modelVersion, r.at, { requested: r.requested, prices }));
        }
      }),
      { numRuns: 300 },
    );
  });
});
