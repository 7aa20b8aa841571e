/** Resume from the journal: finished work is not redone, no batch is created twice. */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { startEmulator, type RunningEmulator } from '../src/emulator/index.js';
import { geminiBatch } from '../src/index.js';
import type { GeminiBatchOptions } from '../src/options.js';
import type { KeyedResult } from '../src/types.js';
import { collect, records } from './helpers/records.js';

let emu: RunningEmulator | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await emu?.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const newDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'gb-resume-'));
  dirs.push(d);
  return d;
};

/** Run until `stopAfter` results were taken, then destroy (a crash as the library sees it). */
async function runUntil(input: unknown[], opts: GeminiBatchOptions, stopAfter: number): Promise<KeyedResult[]> {
  const got: KeyedResult[] = [];
  const stage = geminiBatch(opts);
  await pipeline(
    Readable.from(input),
    stage,
    new Writable({
      objectMode: true,
      write(r: KeyedResult, _e, cb) {
        got.push(r);
        if (got.length === stopAfter) stage.destroy(new Error('simulated crash'));
        cb();
      },
    }),
  ).catch((err: Error) => {
    if (err.message !== 'simulated crash') throw err;
  });
  return got;
}

describe('journal resume', () => {
  it('resumes after a crash mid-output: same results, every batch created once', async () => {
    emu = await startEmulator({ port: 0, pendingMs: 5, runningMs: 10, shuffleResults: true });
    const stateDir = newDir();
    const input = records(400);
    const opts: GeminiBatchOptions = {
      model: 'gemini-2.5-flash',
      baseUrl: emu.url,
      apiKey: 'k',
      mode: 'file',
      maxRequestsPerBatch: 50,
      pollInterval: { initialMs: 5, maxMs: 20 }, adoptWindowMs: 500,
      tmpDir: newDir(),
      stateDir,
    };
    const first = await runUntil(input, opts, 170);
    expect(first).toHaveLength(170);
    const createsAfterFirst = { ...emu.counters().createsByDisplayName };
    const rest = await collect(input, geminiBatch({ ...opts, skipResults: first.length }));
    const all = [...first, ...rest];
    expect(all.map((r) => r.key)).toEqual(input.map((r) => r.key));
    expect(all.every((r) => 'response' in r)).toBe(true);
    const creates = emu.counters().createsByDisplayName;
    expect(Object.values(creates).every((n) => n === 1)).toBe(true);
    // Chunks whose results were already out were not submitted again.
    for (const [name, n] of Object.entries(createsAfterFirst)) expect(creates[name]).toBe(n);
    // The completed run dropped its kept results files.
    expect(readdirSync(join(stateDir, 'results'))).toEqual([]);
    const journal = readFileSync(join(stateDir, 'journal.jsonl'), 'utf8');
    expect(journal).not.toContain('"k"');
  });

  it('keeps a chunk that failed for good failed across a resume', async () => {
    emu = await startEmulator({ port: 0, pendingMs: 5, runningMs: 10, failJobs: 1 });
    const opts: GeminiBatchOptions = { model: 'gemini-2.5-flash', baseUrl: emu.url, apiKey: 'k', mode: 'file', maxJobAttempts: 1, pollInterval: { initialMs: 5, maxMs: 20 }, adoptWindowMs: 500, stateDir: newDir() };
    const input = records(10);
    const first = await runUntil(input, opts, 3);
    const batchesBefore = emu.counters().batchesCreated;
    const rest = await collect(input, geminiBatch({ ...opts, skipResults: first.length }));
    expect([...first, ...rest].map((r) => ('error' in r ? r.error.status : 'ok'))).toEqual(Array(10).fill('BATCH_FAILED'));
    expect(emu.counters().batchesCreated).toBe(batchesBefore);
  });

  it('refuses a different input against the same state dir', async () => {
    emu = await startEmulator({ port: 0, pendingMs: 5, runningMs: 10 });
    const stateDir = newDir();
    const opts: GeminiBatchOptions = { model: 'gemini-2.5-flash', baseUrl: emu.url, apiKey: 'k', mode: 'file', maxRequestsPerBatch: 10, pollInterval: { initialMs: 5, maxMs: 20 }, adoptWindowMs: 500, stateDir };
    await runUntil(records(30), opts, 5);
    await expect(collect(records(30, (i) => `other ${i}`), geminiBatch(opts))).rejects.toMatchObject({
      code: 'ERR_STATE_MISMATCH',
      message: expect.stringContaining('the input differs from the run recorded in'),
    });
    expect(() => geminiBatch({ ...opts, model: 'other-model' })).toThrowError(
      /belongs to a run with other settings \(model was "gemini-2.5-flash", now "other-model"\); run with the same settings to resume it/,
    );
  });

  it('lets a state dir whose run spent nothing be reused with other settings', async () => {
    emu = await startEmulator({ port: 0, pendingMs: 5, runningMs: 10 });
    const stateDir = newDir();
    const opts: GeminiBatchOptions = { model: 'gemini-2.5-flash', baseUrl: emu.url, apiKey: 'k', pollInterval: { initialMs: 5, maxMs: 20 }, adoptWindowMs: 500, stateDir };
    const input = records(5);
    await expect(collect([...input, { key: 'bad' }], geminiBatch(opts))).rejects.toMatchObject({ code: 'ERR_INVALID_RECORD' });
    const out = await collect(input, geminiBatch({ ...opts, maxRequestsPerBatch: 2 }));
    expect(out.map((r) => r.key)).toEqual(input.map((r) => r.key));
  });

  it('adopts a batch whose create was sent but never recorded', async () => {
    emu = await startEmulator({ port: 0, pendingMs: 5, runningMs: 10 });
    const stateDir = newDir();
    const opts: GeminiBatchOptions = { model: 'gemini-2.5-flash', baseUrl: emu.url, apiKey: 'k', mode: 'file', pollInterval: { initialMs: 5, maxMs: 20 }, adoptWindowMs: 500, stateDir, runId: 'adopt-run' };
    const input = records(20);
    // First run: record everything, then cut the journal back to just after the create intent.
    await collect(input, geminiBatch({ ...opts, cleanupRemote: false }));
    const path = join(stateDir, 'journal.jsonl');
    const lines = readFileSync(path, 'utf8').split('\n');
    const cut = lines.findIndex((l) => l.includes('"create-intent"'));
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path, lines.slice(0, cut + 1).join('\n') + '\n');
    const out = await collect(input, geminiBatch(opts));
    expect(out.map((r) => r.key)).toEqual(input.map((r) => r.key));
    expect(emu.counters().createsByDisplayName).toEqual({ 'adopt-run-0': 1 });
  });
});
