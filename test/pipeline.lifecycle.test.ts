/** Backpressure, destroy/abort mid-stream, bad input through the whole pipeline. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { once } from 'node:events';
import { startEmulator, type RunningEmulator } from '../src/emulator/index.js';
import { createGeminiClient, geminiBatch } from '../src/index.js';
import type { GeminiBatchOptions } from '../src/options.js';
import type { KeyedResult } from '../src/types.js';
import { collect, countingSource, records, textRecord } from './helpers/records.js';

let emu: RunningEmulator;
let slow: RunningEmulator;
const tmpDirs: string[] = [];
const newTmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'gb-life-'));
  tmpDirs.push(d);
  return d;
};
const base = (e = emu): Partial<GeminiBatchOptions> => ({ baseUrl: e.url, apiKey: 'k', pollInterval: { initialMs: 10, maxMs: 50 } });

beforeAll(async () => {
  emu = await startEmulator({ port: 0, pendingMs: 5, runningMs: 10 });
  slow = await startEmulator({ port: 0, pendingMs: 10, runningMs: 60_000 });
});
afterAll(async () => {
  await emu.close();
  await slow.close();
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function settle(read: () => number): Promise<number> {
  let last = -1;
  for (let i = 0; i < 40; i++) {
    await sleep(100);
    if (read() === last) return last;
    last = read();
  }
  return read();
}

describe('backpressure', () => {
  it('stops reading the source when the sink stalls', async () => {
    const src = countingSource(200_000);
    let got = 0;
    const stage = geminiBatch({ model: 'gemini-2.5-flash', mode: 'file', maxRequestsPerBatch: 50, maxJobsInFlight: 2, uploadConcurrency: 1, tmpDir: newTmp(), ...base() });
    const sink = new Writable({
      objectMode: true,
      highWaterMark: 1,
      write(_r, _e, _cb) {
        got++; // never calls back: a stalled consumer
      },
    });
    void pipeline(src.stream, stage, sink).catch(() => undefined);
    while (got === 0) await sleep(20);
    const readAhead = await settle(src.read);
    expect(got).toBe(1);
    expect(readAhead).toBeLessThan(2_000);
    stage.destroy();
    await once(stage, 'close');
  });

  it('stops reading the source while jobs are slow', async () => {
    const src = countingSource(200_000);
    const stage = geminiBatch({ model: 'gemini-2.5-flash', mode: 'file', maxRequestsPerBatch: 50, maxJobsInFlight: 2, uploadConcurrency: 1, tmpDir: newTmp(), ...base(slow) });
    const done = pipeline(src.stream, stage, new Writable({ objectMode: true, write: (_r, _e, cb) => cb() })).catch(() => undefined);
    const readAhead = await settle(src.read);
    expect(readAhead).toBeLessThan(2_000);
    stage.destroy();
    await done;
  });
});

describe('destroy and abort', () => {
  it('destroy() mid-stream closes everything and leaves no temp files', async () => {
    const dir = newTmp();
    const stage = geminiBatch({ model: 'gemini-2.5-flash', mode: 'file', maxRequestsPerBatch: 20, tmpDir: dir, ...base(slow) });
    const src = countingSource(1_000);
    src.stream.pipe(stage);
    await once(stage, 'job');
    await sleep(100);
    stage.destroy();
    await once(stage, 'close');
    await sleep(200);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('an aborted signal with cancelOnAbort cancels the batches in flight and deletes uploads', async () => {
    const dir = newTmp();
    const ac = new AbortController();
    const stage = geminiBatch({ model: 'gemini-2.5-flash', mode: 'file', maxRequestsPerBatch: 20, maxJobsInFlight: 3, tmpDir: dir, signal: ac.signal, cancelOnAbort: true, runId: 'abort-test', ...base(slow) });
    const running = new Set<string>();
    stage.on('job', (e: { state: string; batchName?: string }) => {
      if (e.state === 'RUNNING' && e.batchName) running.add(e.batchName);
    });
    const done = pipeline(countingSource(60).stream, stage, new Writable({ objectMode: true, write: (_r, _e, cb) => cb() }));
    while (running.size < 3) await sleep(20);
    ac.abort();
    await expect(done).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    await sleep(300);
    const client = createGeminiClient({ baseUrl: slow.url, apiKey: 'k' });
    for (const name of running) expect((await client.batches.get(name)).state).toBe('CANCELLED');
    const files = [];
    for await (const f of client.files.list()) if (f.displayName?.startsWith('abort-test')) files.push(f.name);
    await client.close();
    expect(files).toEqual([]);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('bad input through the pipeline', () => {
  it('fails the pipeline with ERR_INVALID_RECORD naming seq and key (onInvalid: error)', async () => {
    const input = [textRecord('a', 'x'), { key: 'b', request: { contents: 'nope' } }, textRecord('c', 'y')];
    await expect(collect(input, geminiBatch({ model: 'gemini-2.5-flash', tmpDir: newTmp(), ...base() }))).rejects.toMatchObject({
      code: 'ERR_INVALID_RECORD',
      message: 'record 1 (key "b"): request.contents must be an array of Content',
    });
  });

  it('turns bad records into their own error results (onInvalid: emit)', async () => {
    const input: unknown[] = [textRecord('a', 'x'), { key: 'b' }, 42, textRecord('d', 'y')];
    const out: KeyedResult[] = await collect(input, geminiBatch({ model: 'gemini-2.5-flash', onInvalid: 'emit', maxRequestsPerBatch: 2, tmpDir: newTmp(), ...base() }));
    expect(out.map((r) => [r.key, 'error' in r ? r.error.status : 'ok'])).toEqual([
      ['a', 'ok'],
      ['b', 'INVALID_RECORD'],
      [null, 'INVALID_RECORD'], // no key of its own to read: null, never another record's
      ['d', 'ok'],
    ]);
  });

  it('refuses bad options synchronously with a precise message', () => {
    expect(() => geminiBatch({ model: '' })).toThrowError(/option model: model is required/);
    expect(() => geminiBatch({ model: 'gemini-2.5-flash', maxFileBytes: 3e9, baseUrl: emu.url })).toThrowError(/option maxFileBytes/);
    expect(() => geminiBatch({ model: 'gemini-2.5-flash', mode: 'fast' as never, baseUrl: emu.url })).toThrowError(/option mode/);
    expect(() => geminiBatch({ model: 'gemini-2.5-flash', skipResults: 5, ordered: false, baseUrl: emu.url })).toThrowError(/skipResults needs ordered: true/);
  });

  it('an oversized record fails with ERR_RECORD_TOO_LARGE', async () => {
    const input = [textRecord('a', 'x'), textRecord('big', 'y'.repeat(5000))];
    await expect(collect(input, geminiBatch({ model: 'gemini-2.5-flash', mode: 'file', maxFileBytes: 1000, tmpDir: newTmp(), ...base() }))).rejects.toMatchObject({
      code: 'ERR_RECORD_TOO_LARGE',
      message: expect.stringMatching(/^record 1 \(key "big"\)/),
    });
  });
});

describe('delivery modes', () => {
  it('ordered: false still emits every record exactly once', async () => {
    const input = records(200);
    const out = await collect(input, geminiBatch({ model: 'gemini-2.5-flash', mode: 'file', maxRequestsPerBatch: 30, ordered: false, tmpDir: newTmp(), ...base() }));
    expect(out.map((r) => r.key).sort()).toEqual(input.map((r) => String(r.key)).sort());
  });

  it('flushAfterMs gets results for a slow source that never ends quickly', async () => {
    const stage = geminiBatch({ model: 'gemini-2.5-flash', flushAfterMs: 100, tmpDir: newTmp(), ...base() });
    const got: string[] = [];
    stage.on('data', (r: KeyedResult) => got.push(String(r.key)));
    stage.write(textRecord('early', 'first'));
    const t0 = Date.now();
    while (got.length === 0 && Date.now() - t0 < 5_000) await sleep(20);
    expect(got).toEqual(['early']);
    stage.end(textRecord('late', 'second'));
    await once(stage, 'end');
    expect(got).toEqual(['early', 'late']);
  });

  it('jsonl output emits ready lines with the user key', async () => {
    const out = (await collect([textRecord('a:b', 'hi'), textRecord(7, 'yo')], geminiBatch({ model: 'gemini-2.5-flash', output: 'jsonl', tmpDir: newTmp(), ...base() }))) as unknown as Buffer[];
    const lines = out.map((b) => JSON.parse(b.toString()) as { key: string; response: unknown });
    expect(lines.map((l) => l.key)).toEqual(['a:b', '7']);
    expect(lines.every((l) => l.response)).toBe(true);
  });
});
