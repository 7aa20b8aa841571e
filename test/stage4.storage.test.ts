/** Issue 10: our uploaded, not yet deleted bytes stay under storageBudgetBytes, by waiting before the next upload. */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type RunningEmulator } from '../src/emulator/index.js';
import { geminiBatch } from '../src/index.js';
import type { JobEvent } from '../src/types.js';
import { collect, records, responseText } from './helpers/records.js';

let emu: RunningEmulator | undefined;
let tmp: string | undefined;
afterEach(async () => {
  await emu?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('storage budget', () => {
  it('a budget smaller than two chunks uploads one chunk at a time: the next waits until the last input is deleted', async () => {
    emu = await startEmulator({ port: 0, pendingMs: 10, runningMs: 20 });
    tmp = mkdtempSync(join(tmpdir(), 'gb-stage4-storage-'));
    const input = records(100);
    const events: JobEvent[] = [];
    const stage = geminiBatch({
      model: 'gemini-2.5-flash',
      baseUrl: emu.url,
      apiKey: 'test-api-key-h8',
      mode: 'file',
      maxRequestsPerBatch: 20,
      uploadConcurrency: 4,
      maxJobsInFlight: 4,
      storageBudgetBytes: 1,
      pollInterval: { initialMs: 10, maxMs: 50 },
      tmpDir: tmp,
    });
    stage.on('job', (e: JobEvent) => events.push(e));
    const out = await collect(input, stage);
    expect(out.map((r) => r.key)).toEqual(input.map((r) => r.key));
    out.forEach((r, i) => expect(responseText(r)).toContain(`prompt ${i} `));
    // Between two uploads there is always a chunk that finished (its input deleted) in between.
    let held = 0;
    let most = 0;
    for (const e of events) {
      if (e.state === 'UPLOADED') most = Math.max(most, ++held);
      if (e.state === 'SUCCEEDED') held--;
    }
    expect(events.filter((e) => e.state === 'UPLOADED')).toHaveLength(5);
    expect(most).toBe(1);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('the default budget does not hold uploads back', async () => {
    emu = await startEmulator({ port: 0, pendingMs: 200, runningMs: 20 });
    tmp = mkdtempSync(join(tmpdir(), 'gb-stage4-storage-'));
    const events: JobEvent[] = [];
    const stage = geminiBatch({ model: 'gemini-2.5-flash', baseUrl: emu.url, apiKey: 'test-api-key-h8', mode: 'file', maxRequestsPerBatch: 20, uploadConcurrency: 4, maxJobsInFlight: 4, pollInterval: { initialMs: 10, maxMs: 50 }, tmpDir: tmp });
    stage.on('job', (e: JobEvent) => events.push(e));
    await collect(records(100), stage);
    let held = 0;
    let most = 0;
    for (const e of events) {
      if (e.state === 'UPLOADED') most = Math.max(most, ++held);
      if (e.state === 'SUCCEEDED') held--;
    }
    expect(most).toBeGreaterThan(1);
  });
});
