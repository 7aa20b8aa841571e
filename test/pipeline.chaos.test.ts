/**
 * The chaos run of the reliability issue: every route failing at ~10% (429,
 * 503 or a dropped connection), upload connections cut mid-piece, ambiguous creates, one job expiring and one failing, over
 * 50k records. The output must be complete and correct, and no displayName
 * created twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { startEmulator, type RunningEmulator } from '../src/emulator/index.js';
import { geminiBatch } from '../src/index.js';
import type { KeyedResult } from '../src/types.js';
import { responseText, textRecord } from './helpers/records.js';

const N = 50_000;
const rate = 0.1;
let emu: RunningEmulator;
let tmp: string;
beforeAll(async () => {
  emu = await startEmulator({
    port: 0,
    pendingMs: 20,
    runningMs: 50,
    seed: 2026,
    errorRates: { upload: rate, files: rate, create: rate, get: rate, list: rate, cancel: rate, delete: rate, download: rate },
    errorStatuses: [429, 503, 0],
    cutUploadAfterBytes: 300_000,
    ambiguousCreateRate: 0.1,
    shuffleResults: true,
    duplicateResults: 2,
    expireJobs: [3],
    failJobs: [6],
  });
  tmp = mkdtempSync(join(tmpdir(), 'gb-chaos-'));
});
afterAll(async () => {
  await emu.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('chaos', () => {
  it('50k records through a service failing everywhere: complete, in order, nothing created twice', async () => {
    let checked = 0;
    let errors = 0;
    const stage = geminiBatch({
      model: 'gemini-2.5-flash',
      baseUrl: emu.url,
      apiKey: 'k',
      mode: 'file',
      maxRequestsPerBatch: 5_000,
      maxJobsInFlight: 4,
      pollInterval: { initialMs: 20, maxMs: 100 },
      retry: { initialDelayMs: 5, maxDelayMs: 100 },
      // An injected 5xx on create is looked for over this window before a second create (90 s by default).
      adoptWindowMs: 1_000,
      tmpDir: tmp,
      stateDir: join(tmp, 'state'),
    });
    const resubmits: string[] = [];
    stage.on('job', (e: { state: string; detail?: string }) => {
      if (e.state === 'RESUBMITTING') resubmits.push(e.detail ?? '');
    });
    await pipeline(
      Readable.from((function* () {
        for (let i = 0; i < N; i++) yield textRecord(`c${i}`, `chaos ${i} — ø ✓ 漢字`);
      })()),
      stage,
      new Writable({
        objectMode: true,
        write(r: KeyedResult, _e, cb) {
          if (r.key !== `c${checked}`) return cb(new Error(`result ${checked} has key ${r.key}`));
          if ('error' in r) errors++;
          else if (!responseText(r)?.startsWith(`echo: chaos ${checked} `)) return cb(new Error(`wrong answer for ${r.key}`));
          checked++;
          cb();
        },
      }),
    );
    expect(checked).toBe(N);
    expect(errors).toBe(0);
    const c = emu.counters();
    expect(c.injectedErrors).toBeGreaterThan(5);
    expect(resubmits.some((d) => d.includes('FAILED'))).toBe(true);
    expect(resubmits.some((d) => d.includes('EXPIRED'))).toBe(true);
    expect(c.uploadCuts).toBeGreaterThan(0);
    expect(Object.entries(c.createsByDisplayName).filter(([, n]) => n !== 1)).toEqual([]);
    expect(readdirSync(tmp).filter((f) => f !== 'state')).toEqual([]);
  }, 240_000);
});
