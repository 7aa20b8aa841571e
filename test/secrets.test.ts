/** DESIGN.md invariant 7: the API key never leaves the x-goog-api-key header. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type RunningEmulator } from '../src/emulator/index.js';
import { geminiBatch } from '../src/index.js';
import { collect, records } from './helpers/records.js';

const KEY = 'AIzaSy-SECRET-never-print-me-42';
let emu: RunningEmulator;
let dir: string;
beforeAll(async () => {
  emu = await startEmulator({ port: 0, pendingMs: 5, runningMs: 10, apiKey: KEY, requestErrorRate: 0.1, errorRates: { get: 0.2, create: 0.2 } });
  dir = mkdtempSync(join(tmpdir(), 'gb-secret-'));
});
afterAll(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

function filesUnder(d: string): string[] {
  return readdirSync(d).flatMap((f) => {
    const p = join(d, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe('the API key', () => {
  it('appears in no event, result, error, journal or file of a whole job', async () => {
    const seen: string[] = [];
    const stateDir = join(dir, 'state');
    const stage = geminiBatch({ model: 'gemini-2.5-flash', apiKey: KEY, baseUrl: emu.url, mode: 'file', maxRequestsPerBatch: 20, stateDir, pollInterval: { initialMs: 5, maxMs: 20 }, retry: { initialDelayMs: 5 }, completeOnEnd: false, adoptWindowMs: 500 });
    stage.on('progress', (p) => seen.push(JSON.stringify(p)));
    stage.on('job', (e) => seen.push(JSON.stringify(e)));
    const out = await collect(records(100), stage);
    expect(out).toHaveLength(100);
    seen.push(JSON.stringify(out));
    for (const f of [...filesUnder(stateDir), ...filesUnder(emu.dataDir)]) seen.push(readFileSync(f, 'latin1'));
    expect(seen.some((s) => s.includes('"resultsOut":100'))).toBe(true);
    for (const s of seen) expect(s.includes(KEY)).toBe(false);
  });

  it('appears in no error when the key is wrong', async () => {
    const wrong = `${KEY}-wrong`;
    const err = await collect(records(3), geminiBatch({ model: 'gemini-2.5-flash', apiKey: wrong, baseUrl: emu.url, mode: 'file', retry: { maxAttempts: 1 } })).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    const text = `${String(err)} ${(err as Error).stack} ${JSON.stringify(err)} ${String((err as Error).cause)}`;
    expect(text).toMatch(/API key not valid|API_KEY_INVALID/);
    expect(text.includes(wrong)).toBe(false);
    expect(text.includes(KEY)).toBe(false);
  });
});
