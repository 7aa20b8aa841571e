/** geminiBatch() when the service misbehaves: every record still gets exactly one result. */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../src/emulator/index.js';
import { createGeminiClient, geminiBatch } from '../src/index.js';
import type { GeminiBatchOptions } from '../src/options.js';
import type { KeyedResult } from '../src/types.js';
import { collect, records, responseText } from './helpers/records.js';

let emu: RunningEmulator | undefined;
let tmp: string | undefined;
afterEach(async () => {
  await emu?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  emu = undefined;
});

async function setup(knobs: EmulatorOptions): Promise<Partial<GeminiBatchOptions>> {
  emu = await startEmulator({ port: 0, pendingMs: 10, runningMs: 20, ...knobs });
  tmp = mkdtempSync(join(tmpdir(), 'gb-faults-'));
  // A create that failed with 5xx is looked for over the adopt window before a second create (90 s by default).
  return { baseUrl: emu.url, apiKey: 'k', pollInterval: { initialMs: 10, maxMs: 50 }, tmpDir: tmp, retry: { initialDelayMs: 5, maxDelayMs: 50 }, adoptWindowMs: 300 };
}

const errorOf = (r: KeyedResult) => ('error' in r ? r.error : undefined);

describe('geminiBatch under faults', () => {
  it('turns dropped lines into MISSING_RESULT and ignores duplicated ones', async () => {
    const base = await setup({ dropResults: 2, duplicateResults: 3, shuffleResults: true });
    const input = records(120);
    const out = await collect(input, geminiBatch({ model: 'gemini-2.5-flash', mode: 'file', maxRequestsPerBatch: 40, ...base }));
    expect(out.map((r) => r.key)).toEqual(input.map((r) => r.key));
    const missing = out.filter((r) => errorOf(r)?.status === 'MISSING_RESULT');
    expect(missing).toHaveLength(6); // 2 per job, 3 jobs
    out.filter((r) => 'response' in r).forEach((r) => {
      const i = Number(r.key.slice(1));
      expect(responseText(r)).toContain(`prompt ${i} `);
    });
  });

  it('passes per-request errors through as that record\'s result', async () => {
    const base = await setup({ requestErrorRate: 0.2, seed: 7 });
    const input = records(200);
    const out = await collect(input, geminiBatch({ model: 'gemini-2.5-flash', mode: 'file', maxRequestsPerBatch: 64, ...base }));
    expect(out.map((r) => r.key)).toEqual(input.map((r) => r.key));
    const errors = out.filter((r) => 'error' in r);
    expect(errors.length).toBeGreaterThan(10);
    for (const e of errors) expect(errorOf(e)).toMatchObject({ code: expect.any(Number), message: expect.any(String), status: expect.any(String) });
  });

  it('counts error results in progress events, in jsonl output too', async () => {
    const base = await setup({ requestErrorRate: 0.2, seed: 5, dropResults: 1 });
    const stage = geminiBatch({ model: 'gemini-2.5-flash', mode: 'file', output: 'jsonl', maxRequestsPerBatch: 50, ...base });
    let last: { resultsOut: number; errorsOut: number } | undefined;
    stage.on('progress', (p: { resultsOut: number; errorsOut: number }) => (last = p));
    const out = (await collect(records(150), stage)) as unknown as Buffer[];
    const errorLines = out.filter((b) => 'error' in (JSON.parse(b.toString()) as object)).length;
    expect(errorLines).toBeGreaterThan(3);
    expect(last).toMatchObject({ resultsOut: 150, errorsOut: errorLines });
  });

  it('resubmits requests that failed with a retryable status (retryFailedRequests)', async () => {
    const base = await setup({ requestErrorRate: 0.3, seed: 3 });
    const input = records(100);
    const out = await collect(input, geminiBatch({ model: 'gemini-2.5-flash', mode: 'file', retryFailedRequests: 5, ...base }));
    expect(out.map((r) => r.key)).toEqual(input.map((r) => r.key));
    expect(out.filter((r) => 'error' in r)).toEqual([]);
  });

  it('resubmits a FAILED job and splits an EXPIRED one', async () => {
    const base = await setup({ failJobs: [1], expireJobs: [2] });
    const input = records(60);
    const jobs: string[] = [];
    const stage = geminiBatch({ model: 'gemini-2.5-flash', mode: 'file', maxRequestsPerBatch: 30, maxJobsInFlight: 1, ...base });
    stage.on('job', (e: { state: string; detail?: string }) => jobs.push(`${e.state}${e.detail ? ` ${e.detail}` : ''}`));
    const out = await collect(input, stage);
    expect(out.map((r) => r.key)).toEqual(input.map((r) => r.key));
    expect(out.filter((r) => 'error' in r)).toEqual([]);
    expect(jobs.some((j) => j.startsWith('RESUBMITTING attempt 1 FAILED'))).toBe(true);
    expect(jobs.some((j) => j.includes('EXPIRED: splitting'))).toBe(true);
  });

  it('gives up on a chunk that always fails with an error per record', async () => {
    const base = await setup({ failJobs: 1 });
    const input = records(10);
    const out = await collect(input, geminiBatch({ model: 'gemini-2.5-flash', mode: 'file', maxJobAttempts: 2, ...base }));
    expect(out.map((r) => errorOf(r)?.status)).toEqual(Array(10).fill('BATCH_FAILED'));
  });

  it('waits out 429 on create without creating twice', async () => {
    const base = await setup({ maxEnqueuedRequests: 25, runningMs: 60 });
    const input = records(100);
    const out = await collect(input, geminiBatch({ model: 'gemini-2.5-flash', mode: 'file', maxRequestsPerBatch: 20, ...base }));
    expect(out.map((r) => r.key)).toEqual(input.map((r) => r.key));
    expect(out.filter((r) => 'error' in r)).toEqual([]);
    const creates = emu!.counters().createsByDisplayName;
    expect(Object.values(creates).every((n) => n === 1)).toBe(true);
    expect(Object.keys(creates)).toHaveLength(5);
  });

  it('streams inline create bodies afresh for every retried attempt', async () => {
    const base = await setup({ errorRates: { create: 0.5 }, errorStatuses: [429], seed: 4 });
    const input = records(300, (i) => `inline ${i} ${'ü'.repeat(i % 9)}`);
    const out = await collect(input, geminiBatch({ model: 'gemini-2.5-flash', mode: 'inline', maxInlineBytes: 9_000, ...base }));
    expect(out.map((r) => r.key)).toEqual(input.map((r) => r.key));
    out.forEach((r, i) => expect(responseText(r)).toContain(`echo: inline ${i} `));
    expect(emu!.counters().injectedErrors).toBeGreaterThan(0);
    expect(emu!.counters().uploadsStarted).toBe(0);
  });

  it('emits errors for the records of a batch someone else cancelled', async () => {
    const base = await setup({ runningMs: 400 });
    const client = createGeminiClient({ baseUrl: base.baseUrl, apiKey: 'k' });
    const stage = geminiBatch({ model: 'gemini-2.5-flash', mode: 'file', ...base });
    stage.on('job', (e: { state: string; batchName?: string }) => {
      if (e.state === 'RUNNING' && e.batchName) void client.batches.cancel(e.batchName);
    });
    const out = await collect(records(5), stage);
    await client.close();
    expect(out.map((r) => errorOf(r)?.status)).toEqual(Array(5).fill('BATCH_CANCELLED'));
  });

  it('gives up after bounded retries with an error that says what was being done', async () => {
    const base = await setup({ errorRates: { upload: 1 }, errorStatuses: [503] });
    const err = await collect(records(10), geminiBatch({ model: 'gemini-2.5-flash', mode: 'file', ...base, retry: { maxAttempts: 3, initialDelayMs: 5, maxDelayMs: 10 } })).catch((e: Error) => e);
    expect(err).toMatchObject({ httpStatus: 503, status: 'UNAVAILABLE', code: 'ERR_GEMINI_HTTP' });
    expect((err as Error).message).toMatch(/^uploading chunk 0 \(records 0\.\.9\): .*503/);
  });

  it('retries through HTTP error storms on every route', async () => {
    const rate = 0.15;
    const base = await setup({
      errorRates: { upload: rate, files: rate, create: rate, get: rate, list: rate, download: rate, delete: rate },
      seed: 11,
    });
    const input = records(150);
    const out = await collect(input, geminiBatch({ model: 'gemini-2.5-flash', mode: 'file', maxRequestsPerBatch: 50, ...base }));
    expect(out.map((r) => r.key)).toEqual(input.map((r) => r.key));
    expect(out.filter((r) => 'error' in r)).toEqual([]);
    expect(emu!.counters().injectedErrors).toBeGreaterThan(0);
    expect(Object.values(emu!.counters().createsByDisplayName).every((n) => n === 1)).toBe(true);
    expect(readdirSync(tmp!)).toEqual([]);
  });
});
