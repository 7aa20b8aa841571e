/** planBatch: a dry run makes no upload and no create, and its estimate holds against the run it plans. */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../src/emulator/index.js';
import { geminiBatch, planBatch, priceTally, reserveForChunk, type ProgressSnapshot } from '../src/index.js';
import { estimateRequestTokens } from '../src/internal/wire/token-estimate.js';
import { formatPlan } from '../src/planning/format-plan.js';

let emu: RunningEmulator;
let tmp: string;

beforeAll(async () => {
  emu = await startEmulator({ port: 0, pendingMs: 10, runningMs: 20, apiKey: 'k' });
  tmp = mkdtempSync(join(tmpdir(), 'gb-plan-'));
});
afterAll(async () => {
  await emu.close();
  rmSync(tmp, { recursive: true, force: true });
});

const WORDS = ['the', 'quarterly', 'report', 'shows', 'growth', 'in', 'every', 'region', 'but', 'costs', 'rose', 'faster'];
/** Generated prompts of varied length: a few hundred tokens each. */
function records(n: number, generationConfig?: Record<string, unknown>) {
  const out = [];
  for (let i = 0; i < n; i++) {
    let text = `Summarise record ${i}:`;
    for (let w = 0; w < 200 + ((i * 37) % 400); w++) text += ` ${WORDS[(i * 7 + w * 3) % WORDS.length]}`;
    out.push({ key: `r${i}`, request: { contents: [{ role: 'user', parts: [{ text }] }], ...(generationConfig ? { generationConfig } : {}) } });
  }
  return out;
}

const opts = () => ({ baseUrl: emu.url, apiKey: 'k', tmpDir: tmp, pollInterval: { initialMs: 20, maxMs: 100 } });

describe('planBatch', () => {
  it('reports records, chunks, tokens, output and cost, and makes no upload, no create, no call', async () => {
    const before = emu.counters();
    const input = [...records(300, { maxOutputTokens: 100, thinkingConfig: { thinkingBudget: 50 } }), { key: 'bad', request: { nope: 1 } }];
    const plan = await planBatch(input, { model: 'gemini-2.5-flash', mode: 'file', maxRequestsPerBatch: 120, onInvalid: 'emit', ...opts() });
    const after = emu.counters();
    expect(after.uploadsStarted).toBe(before.uploadsStarted);
    expect(after.batchesCreated).toBe(before.batchesCreated);
    expect(after.requestsByRoute).toEqual(before.requestsByRoute);
    expect(plan.records).toEqual({ total: 301, valid: 300, invalid: 1 });
    expect(plan.chunks.map((c) => c.requests)).toEqual([120, 120, 60]);
    expect(plan.chunkCount).toBe(3);
    expect(plan.output).toEqual({ source: 'requests', tokens: 300 * 150, requestsWithoutLimit: 0 });
    expect(plan.inputTokens.estimated).toBe(plan.chunks.reduce((a, c) => a + c.estimatedTokens, 0));
    expect(plan.cost!.low).toBeLessThan(plan.cost!.high!);
    expect(plan.cost!.high).toBeCloseTo((plan.inputTokens.estimated * 0.15 + 300 * 150 * 1.25) / 1e6, 10);
    expect(plan.limits).toMatchObject({ tier: 1, enqueuedTokens: 3_000_000, requests: 200_000 });
    expect(plan.fits).toBe(true);
    // Spool files are gone.
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('says when a chunk is over the known quota, and when the output or the price is not known', async () => {
    const huge = Array.from({ length: 32 }, (_, i) => ({ key: `h${i}`, request: { contents: [{ parts: [{ text: `${i} ${'word '.repeat(64_000)}` }] }] } }));
    const plan = await planBatch(huge, { model: 'gemini-2.5-flash', mode: 'file', ...opts() });
    expect(plan.inputTokens.estimated).toBeGreaterThan(3_000_000);
    expect(plan.fits).toBe(false);
    expect(plan.chunks[0]!.problems.join()).toMatch(/over the 3,000,000 enqueued-token quota/);
    expect(plan.output).toMatchObject({ source: 'unknown', tokens: undefined, requestsWithoutLimit: 32 });
    expect(plan.cost!.high).toBeUndefined();
    const tier2 = await planBatch(huge, { model: 'gemini-2.5-flash', mode: 'file', tier: 2, ...opts() });
    expect(tier2.fits).toBe(true);
    const unknown = await planBatch(records(20), { model: 'gemini-4-argon', ...opts() });
    expect(unknown.cost).toBeUndefined();
    expect(unknown.pricedAs).toBeUndefined();
    expect(unknown.limits.enqueuedTokens).toBeUndefined();
    const priced = await planBatch(records(20), { model: 'gemini-4-argon', prices: { 'gemini-4-argon': { input: 1, output: 4 } }, outputTokens: 10, ...opts() });
    expect(priced.cost!.high).toBeCloseTo((priced.inputTokens.estimated * 1 + 200 * 4) / 1e6, 10);
  });

  it('plans for the Vertex backend with its own limits: 1 GB and 200,000 requests a job, file input only, no token quota, its refused fields invalid', async () => {
    const small = (i: number) => ({ key: `v${i}`, request: { contents: [{ role: 'user', parts: [{ text: `q${i}` }] }], generationConfig: { maxOutputTokens: 5 } } });
    const input = [...Array.from({ length: 250_000 }, (_, i) => small(i)), { key: 'cached', request: { contents: [], cachedContent: 'cachedContents/x' } }];
    const vertex = { project: 'p', location: 'us-central1', bucket: 'gs://bkt/work' };
    const plan = await planBatch(input, { model: 'gemini-2.5-flash', backend: 'vertex', vertex, onInvalid: 'emit', maxRequestsPerBatch: 1_000_000, ...opts() });
    expect(plan.records).toEqual({ total: 250_001, valid: 250_000, invalid: 1 });
    expect(plan.chunks.map((c) => [c.mode, c.requests])).toEqual([
      ['file', 200_000],
      ['file', 50_000],
    ]);
    expect(plan.limits).toMatchObject({ backend: 'vertex', fileBytes: 1_000_000_000, inlineBytes: undefined, requests: 200_000, enqueuedTokens: undefined });
    expect(formatPlan(plan)).toContain('Vertex AI: no token quota (jobs queue); 1 GB a job, 200,000 requests a batch');
    // The same input on the Developer API: inline allowed, the Tier-1 quota named.
    const gemini = await planBatch(input.slice(0, 10), { model: 'gemini-2.5-flash', ...opts() });
    expect(formatPlan(gemini)).toContain('tier 1: 3,000,000 enqueued tokens per model; 2 GB a file, 20 MB inline, 200,000 requests a batch');
    await expect(planBatch(input.slice(0, 10), { model: 'gemini-2.5-flash', backend: 'vertex', vertex, countTokens: 5, ...opts() })).rejects.toThrow(/countTokens samples through the Developer API/);
  });

  it('--count-tokens: measures a sample with countTokens and corrects the projection to within 15% of what the run then costs', async () => {
    const input = records(400);
    const model = 'gemini-2.5-flash-lite'; // answers without thinking: output is the emulator's echo, ~14 tokens
    const before = emu.counters();
    const plan = await planBatch(input, { model, outputTokens: 14, countTokens: 40, countTokensPerMinute: 60_000, ...opts() });
    const after = emu.counters();
    expect(after.requestsByRoute.countTokens! - (before.requestsByRoute.countTokens ?? 0)).toBe(40);
    expect(after.batchesCreated).toBe(before.batchesCreated);
    expect(plan.countTokens!.sampled).toBe(40);
    expect(plan.countTokens!.tokensPerByte).toBeGreaterThan(0.1);
    expect(plan.countTokens!.tokensPerByte).toBeLessThan(0.5);

    let last: ProgressSnapshot | undefined;
    const gb = geminiBatch({ model, ...opts() });
    gb.on('progress', (p: ProgressSnapshot) => (last = p));
    await pipeline(Readable.from(input), gb, new Writable({ objectMode: true, write: (_r, _e, cb) => cb() }));
    const real = priceTally(last!.usage!, model);
    expect(real.usd).toBeGreaterThan(0);
    const estimate = plan.cost!.corrected!.high!;
    expect(Math.abs(estimate - real.usd!) / real.usd!).toBeLessThan(0.15);
    // The uncorrected estimate errs high (it is what chunks are cut on): the sample is what makes it close.
    expect(plan.inputTokens.corrected!).toBeLessThan(plan.inputTokens.estimated);
    expect(Math.abs(plan.inputTokens.corrected! - last!.tokens.prompt) / last!.tokens.prompt).toBeLessThan(0.15);
  });
});

describe('reserveForChunk', () => {
  it('reserves input plus each request\'s output limit; nothing when one request has none', async () => {
    const lines = records(3, { maxOutputTokens: 1000, thinkingConfig: { thinkingBudget: 1000 } }).map((r, i) => Buffer.from(JSON.stringify({ key: `${i}:${r.key}`, request: r.request })));
    const spoolPath = join(tmp, 'chunk.jsonl');
    writeFileSync(spoolPath, Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')])));
    const estimatedTokens = lines.reduce((a, l) => a + estimateRequestTokens(l), 0);
    const chunk = { spoolPath, lineCount: 3, estimatedTokens };
    expect(await reserveForChunk(chunk, 'gemini-2.5-flash')).toBeCloseTo((estimatedTokens * 0.15 + 6000 * 1.25) / 1e6, 10);
    expect(await reserveForChunk(chunk, 'gemini-2.5-flash', { outputTokens: 10 })).toBeCloseTo((estimatedTokens * 0.15 + 30 * 1.25) / 1e6, 10);
    writeFileSync(spoolPath, `${JSON.stringify({ key: '0:a', request: { contents: [] } })}\n`);
    expect(await reserveForChunk({ spoolPath, lineCount: 1, estimatedTokens: 20 }, 'gemini-2.5-flash')).toBeUndefined();
    rmSync(spoolPath);
  });
});
