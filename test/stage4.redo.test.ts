/**
 * Issue 11: a resume whose recorded batch or upload the service no longer
 * has is redone under the next attempt's names, never a dead end; a resume
 * never creates a second batch for a chunk whose batch still exists.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
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

async function setup(knobs: EmulatorOptions): Promise<GeminiBatchOptions> {
  emu = await startEmulator({ port: 0, ...knobs });
  tmp = mkdtempSync(join(tmpdir(), 'gb-stage4-redo-'));
  return {
    model: 'gemini-2.5-flash',
    baseUrl: emu.url,
    apiKey: 'test-api-key-h8',
    mode: 'file',
    maxRequestsPerBatch: 20,
    pollInterval: { initialMs: 10, maxMs: 50 },
    tmpDir: tmp,
    stateDir: join(tmp, 'state'),
    adoptWindowMs: 300,
    retry: { initialDelayMs: 5, maxDelayMs: 50 },
  };
}

/** Run until every chunk's batch exists (PENDING seen `batches` times), then stop as a crash would. */
async function runUntilCreated(opts: GeminiBatchOptions, input: unknown[], batches: number): Promise<string[]> {
  const stage = geminiBatch(opts);
  const names: string[] = [];
  stage.on('job', (e: JobEvent) => {
    if (e.state === 'PENDING' && e.batchName && !names.includes(e.batchName)) {
      names.push(e.batchName);
      if (names.length === batches) stage.destroy(new Error('simulated crash'));
    }
  });
  await pipeline(Readable.from(input), stage, new Writable({ objectMode: true, write: (_r, _e, cb) => cb() })).catch(() => undefined);
  return names;
}

function expectAllAnswered(input: ReturnType<typeof records>, out: KeyedResult[]): void {
  expect(out.map((r) => r.key)).toEqual(input.map((r) => r.key));
  expect(out.filter((r) => 'error' in r)).toEqual([]);
  out.forEach((r, i) => expect(responseText(r)).toContain(`prompt ${i} `));
}

describe('resume when the service lost our work', () => {
  it('a recorded batch that is gone (404) is redone under a new displayName; the others are adopted, not recreated', async () => {
    // Jobs stay PENDING long enough to crash while they are queued.
    const opts = await setup({ pendingMs: 400, runningMs: 20 });
    const input = records(40);
    const names = await runUntilCreated(opts, input, 2);
    expect(names).toHaveLength(2);
    const client = createGeminiClient({ baseUrl: emu!.url, apiKey: 'test-api-key-h8' });
    await client.batches.delete(names[0]!); // deleted by hand: the service answers 404 for it now
    await client.close();

    const jobs: JobEvent[] = [];
    const stage = geminiBatch(opts);
    stage.on('job', (e: JobEvent) => jobs.push(e));
    const out = await collect(input, stage);
    expectAllAnswered(input, out);
    const creates = emu!.counters().createsByDisplayName;
    // Never two creates of one displayName; the gone chunk got a new one, the live one none.
    expect(Object.values(creates).every((n) => n === 1)).toBe(true);
    expect(Object.keys(creates)).toHaveLength(3);
    expect(Object.keys(creates).some((d) => /-a1$/.test(d))).toBe(true);
  });

  it('an upload that is gone before its batch was created is uploaded again', async () => {
    // A create that answers 500 is ambiguous: the stage looks for the batch before creating again.
    // Here the chunk is uploaded, the run stops before any batch exists, and the file disappears.
    const opts = await setup({ pendingMs: 10, runningMs: 20 });
    const input = records(20);
    const stage = geminiBatch(opts);
    let uploaded: string | undefined;
    stage.on('job', (e: JobEvent) => {
      if (e.state === 'UPLOADED' && !uploaded) {
        uploaded = e.detail;
        stage.destroy(new Error('simulated crash'));
      }
    });
    await pipeline(Readable.from(input), stage, new Writable({ objectMode: true, write: (_r, _e, cb) => cb() })).catch(() => undefined);
    expect(uploaded).toMatch(/^files\//);
    const client = createGeminiClient({ baseUrl: emu!.url, apiKey: 'test-api-key-h8' });
    await client.files.delete(uploaded!);
    await client.close();

    const out = await collect(input, geminiBatch(opts));
    expectAllAnswered(input, out);
    expect(emu!.counters().uploadsFinalized).toBe(2);
    expect(Object.values(emu!.counters().createsByDisplayName).every((n) => n === 1)).toBe(true);
  });

  it('after cancel-on-abort, the same run again re-creates the cancelled chunks under new names and completes', async () => {
    const opts = { ...(await setup({ pendingMs: 400, runningMs: 20 })), cancelOnAbort: true };
    const input = records(40);
    const names = await runUntilCreated(opts, input, 2);
    expect(names).toHaveLength(2);
    // Let the cancels land.
    await new Promise((r) => setTimeout(r, 100));
    const jobs: JobEvent[] = [];
    const stage = geminiBatch(opts);
    stage.on('job', (e: JobEvent) => jobs.push(e));
    const out = await collect(input, stage);
    expectAllAnswered(input, out);
    const creates = emu!.counters().createsByDisplayName;
    expect(Object.values(creates).every((n) => n === 1)).toBe(true);
    expect(Object.keys(creates).filter((d) => /-a1$/.test(d))).toHaveLength(2);
    expect(jobs.some((e) => e.state === 'CANCELLED')).toBe(false);
  });

  it('a SUCCEEDED batch whose output never shows within outputWaitMs is not taken as done: a rerun fetches it without paying again', async () => {
    const opts = await setup({ pendingMs: 10, runningMs: 20, succeededWithoutOutputPolls: 40 });
    const input = records(20);
    const err = await collect(input, geminiBatch({ ...opts, outputWaitMs: 100 })).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_BATCH_OUTPUT_MISSING' });
    expect((err as Error).message).toMatch(/SUCCEEDED but the service attached no output/);
    // Its input was not deleted: the chunk is not done.
    const client = createGeminiClient({ baseUrl: emu!.url, apiKey: 'test-api-key-h8' });
    const files: string[] = [];
    for await (const f of client.files.list()) files.push(f.name);
    await client.close();
    expect(files.filter((f) => !f.startsWith('files/batch-'))).toHaveLength(1);

    const out = await collect(input, geminiBatch({ ...opts, outputWaitMs: 20_000 }));
    expectAllAnswered(input, out);
    expect(emu!.counters().batchesCreated).toBe(1);
  });
});
