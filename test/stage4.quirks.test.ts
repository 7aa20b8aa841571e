/**
 * Stage 4 against the emulator with the real service's reported quirks on
 * (issue 10 item 2, issue 11): every record still gets its own answer in
 * input order, nothing is created twice, nothing hangs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../src/emulator/index.js';
import { createGeminiClient, geminiBatch } from '../src/index.js';
import type { GeminiBatchOptions } from '../src/options.js';
import type { JobEvent, KeyedResult } from '../src/types.js';
import { collect, records, responseText } from './helpers/records.js';

let emu: RunningEmulator | undefined;
let tmp: string | undefined;
afterEach(async () => {
  await emu?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  emu = undefined;
  tmp = undefined;
});

async function setup(knobs: EmulatorOptions): Promise<Partial<GeminiBatchOptions>> {
  emu = await startEmulator({ port: 0, pendingMs: 10, runningMs: 20, ...knobs });
  tmp = mkdtempSync(join(tmpdir(), 'gb-stage4-'));
  return { baseUrl: emu.url, apiKey: 'test-api-key-h8', pollInterval: { initialMs: 10, maxMs: 50 }, tmpDir: tmp, retry: { initialDelayMs: 5, maxDelayMs: 50 } };
}

/** Every record answered with its own prompt, in input order. */
function expectAllAnswered(input: ReturnType<typeof records>, out: KeyedResult[]): void {
  expect(out.map((r) => r.key)).toEqual(input.map((r) => r.key));
  const errors = out.filter((r) => 'error' in r);
  expect(errors).toEqual([]);
  out.forEach((r, i) => expect(responseText(r)).toContain(`prompt ${i} `));
}

const createdOnce = () => Object.values(emu!.counters().createsByDisplayName).every((n) => n === 1);

describe('stage 4 with the service quirks on', () => {
  it('a default run on a Tier-1 project (2.5 Flash: 3,000,000 enqueued tokens) completes', async () => {
    const base = await setup({ enqueuedTokenLimit: 'tier1' });
    // ~1,100 tokens a record by the service's count: 3,000 records are over the quota as one batch.
    const input = records(3_000, (i) => `prompt ${i} ${'lorem ipsum dolor sit amet '.repeat(160)}`);
    const jobs: JobEvent[] = [];
    const stage = geminiBatch({ model: 'gemini-2.5-flash', ...base });
    stage.on('job', (e: JobEvent) => jobs.push(e));
    const out = await collect(input, stage);
    expectAllAnswered(input, out);
    expect(createdOnce()).toBe(true);
    expect(emu!.counters().batchesCreated).toBeGreaterThan(1);
  }, 60_000);

  it('no Batch access (a limit of 0) fails at once, in one sentence', async () => {
    const base = await setup({ enqueuedTokenLimit: 0 });
    const started = Date.now();
    await expect(collect(records(5), geminiBatch({ model: 'gemini-2.5-flash', ...base }))).rejects.toMatchObject({
      code: 'ERR_QUOTA',
      message: expect.stringContaining('no Gemini Batch access'),
    });
    expect(emu!.counters().batchesCreated).toBe(0);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('a lost create answer with a lagging list: adopted, never created twice', async () => {
    const base = await setup({ ambiguousCreateRate: 1, listLagMs: 400 });
    const input = records(60);
    const out = await collect(input, geminiBatch({ model: 'gemini-2.5-flash', mode: 'file', maxRequestsPerBatch: 20, adoptWindowMs: 5_000, ...base } as GeminiBatchOptions));
    expectAllAnswered(input, out);
    expect(emu!.counters().batchesCreated).toBe(3);
    expect(createdOnce()).toBe(true);
  });

  it('SUCCEEDED shown before its output: polled until the output appears', async () => {
    const base = await setup({ succeededWithoutOutputPolls: 3 });
    for (const mode of ['file', 'inline'] as const) {
      const input = records(40);
      const out = await collect(input, geminiBatch({ model: 'gemini-2.5-flash', mode, maxRequestsPerBatch: 20, ...base }));
      expectAllAnswered(input, out);
    }
  });

  it('inline responses without keys: matched by position, and a job event says so', async () => {
    const base = await setup({ omitInlineMetadata: true, shuffleResults: false });
    const input = records(30);
    const jobs: JobEvent[] = [];
    const stage = geminiBatch({ model: 'gemini-2.5-flash', mode: 'inline', maxRequestsPerBatch: 10, ...base });
    stage.on('job', (e: JobEvent) => jobs.push(e));
    const out = await collect(input, stage);
    expectAllAnswered(input, out);
    expect(jobs.filter((j) => /by position/.test(j.detail ?? ''))).toHaveLength(3);
  });

  it('a batch that keeps expiring is split only down to the floor, not to single requests', async () => {
    const base = await setup({ expireJobs: 1 });
    const input = records(64);
    const stage = geminiBatch({ model: 'gemini-2.5-flash', mode: 'file', maxRequestsPerBatch: 64, ...base });
    const live = new Set<string>();
    let mostLive = 0;
    stage.on('job', (e: JobEvent) => {
      if (!e.batchName) return;
      if (e.state === 'PENDING' || e.state === 'RUNNING') live.add(e.batchName);
      else live.delete(e.batchName);
      mostLive = Math.max(mostLive, live.size);
    });
    const out = await collect(input, stage);
    expect(out.map((r) => r.key)).toEqual(input.map((r) => r.key));
    // always-expire: 1 + 2 + 4 + 8 batches (depth 3), not 127; halves run at once
    expect(emu!.counters().batchesCreated).toBe(15);
    expect(mostLive).toBeGreaterThan(1);
    expect(out.every((r) => 'error' in r && r.error.status === 'BATCH_EXPIRED')).toBe(true);
  });

  it("mode 'auto' sends image-generation requests as files, text ones inline", async () => {
    const base = await setup({});
    const image = (i: number) => ({ key: `i${i}`, request: { contents: [{ role: 'user', parts: [{ text: `prompt ${i} draw` }] }], generationConfig: { responseModalities: ['TEXT', 'IMAGE'] } } });
    const input = [...records(10), ...Array.from({ length: 10 }, (_, i) => image(10 + i))];
    const out = await collect(input, geminiBatch({ model: 'gemini-2.5-flash', maxRequestsPerBatch: 10, ...base }));
    expect(out.map((r) => r.key)).toEqual(input.map((r) => r.key));
    expect(out.filter((r) => 'error' in r)).toEqual([]);
    // chunk 0 (text) inline: no upload; chunk 1 (images) as a file: one upload
    expect(emu!.counters().uploadsFinalized).toBe(1);
    expect(emu!.counters().batchesCreated).toBe(2);
  });

  it('with none of our batches queued, 429s end after quotaWaitMs in one sentence naming the quota and the model', async () => {
    const base = await setup({ enqueuedTokenLimit: 5_000, quotaRetryDelaySeconds: 0, pendingMs: 60_000 });
    // Another batch of the same project holds the quota for the whole test.
    const other = createGeminiClient({ baseUrl: emu!.url, apiKey: 'test-api-key-h8' });
    const big = JSON.stringify([{ request: { contents: [{ parts: [{ text: 'x'.repeat(19_996) }] }] }, metadata: { key: 'other' } }]);
    await other.batches.create({ model: 'gemini-2.5-flash', displayName: 'someone-else', inlineRequestsJson: big });
    await other.close();
    const started = Date.now();
    const err = await collect(records(5), geminiBatch({ model: 'gemini-2.5-flash', quotaWaitMs: 500, ...base } as GeminiBatchOptions)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_QUOTA' });
    expect((err as Error).message).toMatch(/enqueued-token quota .*\(5000 tokens\) for gemini-2\.5-flash kept refusing/);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(emu!.counters().batchesCreated).toBe(1); // only the other one
  }, 20_000);

  it('keyless inline responses whose number differs from the requests: never guessed, each record gets an error naming the cause', async () => {
    const base = await setup({ omitInlineMetadata: true, dropResults: 1 });
    const input = records(10);
    const out = await collect(input, geminiBatch({ model: 'gemini-2.5-flash', mode: 'inline', maxRequestsPerBatch: 10, ...base }));
    expect(out.map((r) => r.key)).toEqual(input.map((r) => r.key));
    for (const r of out) {
      expect('error' in r && r.error.status).toBe('INLINE_RESPONSE_WITHOUT_KEY');
      if ('error' in r) expect(r.error.message).toMatch(/9 inline responses without keys for 10 requests/);
    }
  });

  it('leaves nothing in the temp dir', () => {
    if (tmp) expect(readdirSync(tmp)).toEqual([]);
  });
});

describe('a create that keeps failing (issue 21 item 4)', () => {
  it('answering 503 for ever ends within the retry bounds in one error, with events saying why the run waits, and nothing created twice', async () => {
    const base = await setup({ errorRates: { create: 1 }, errorStatuses: [503] });
    const jobs: JobEvent[] = [];
    const stage = geminiBatch({ model: 'gemini-2.5-flash', ...base, adoptWindowMs: 200, retry: { initialDelayMs: 5, maxDelayMs: 20, maxAttempts: 3 } });
    stage.on('job', (e: JobEvent) => jobs.push(e));
    const started = Date.now();
    const err = await collect(records(5), stage).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/creating batch \S+ failed 3 times in \d+ s without an answer .*no batch of that name exists: run again later/);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(jobs.some((e) => /answer was lost/.test(e.detail ?? ''))).toBe(true);
    expect(jobs.some((e) => /looking for the batch whose create answer was lost/.test(e.detail ?? ''))).toBe(true);
    expect(emu!.counters().batchesCreated).toBe(0);
  }, 30_000);
});
