/**
 * A FAILED or EXPIRED job that carries partial output (the emulator's
 * partialOutputOnFailure knob: results for the first half of its requests).
 * Issue 10: use what it carries, resubmit only the records without a result;
 * every record gets its own answer, in input order, and no chunk is created twice.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../src/emulator/index.js';
import { geminiBatch } from '../src/index.js';
import type { GeminiBatchOptions } from '../src/options.js';
import type { JobEvent, ProgressSnapshot } from '../src/types.js';
import { collect, records, responseText } from './helpers/records.js';

let emu: RunningEmulator | undefined;
let tmp: string | undefined;
afterEach(async () => {
  await emu?.close();
  if (tmp) {
    expect(readdirSync(tmp)).toEqual([]);
    rmSync(tmp, { recursive: true, force: true });
  }
  emu = undefined;
  tmp = undefined;
});

async function setup(knobs: EmulatorOptions): Promise<Partial<GeminiBatchOptions>> {
  emu = await startEmulator({ port: 0, pendingMs: 10, runningMs: 20, partialOutputOnFailure: true, ...knobs });
  tmp = mkdtempSync(join(tmpdir(), 'gb-partial-'));
  return { baseUrl: emu.url, apiKey: 'test-api-key-h10', pollInterval: { initialMs: 10, maxMs: 50 }, tmpDir: tmp, retry: { initialDelayMs: 5, maxDelayMs: 50 } };
}

/** Requests the emulator's jobs were given, summed over every batch (from the job events). */
function requestsSent(jobs: JobEvent[]): number {
  const byBatch = new Map<string, number>();
  // A RESUBMITTING event names the old batch with the count that goes again: not that batch's size.
  for (const j of jobs) if (j.batchName && j.state !== 'RESUBMITTING' && !byBatch.has(j.batchName)) byBatch.set(j.batchName, j.requests);
  return [...byBatch.values()].reduce((a, b) => a + b, 0);
}

const cases: Array<[string, EmulatorOptions, GeminiBatchOptions['mode']]> = [
  ['a FAILED file job', { failJobs: [1] }, 'file'],
  ['an EXPIRED file job', { expireJobs: [2] }, 'file'],
  ['a FAILED inline job', { failJobs: [1] }, 'inline'],
  ['an EXPIRED inline job', { expireJobs: [1] }, 'inline'],
  ['FAILED and EXPIRED jobs with shuffled output', { failJobs: [1, 3], expireJobs: [2], shuffleResults: true }, 'file'],
  ['FAILED and EXPIRED jobs, states named JOB_STATE_* (the SDKs\' names)', { failJobs: [2], expireJobs: [3], statePrefix: 'JOB_STATE_' }, 'inline'],
];

describe('a failed or expired job that carries partial output', () => {
  it.each(cases)('%s: its results are used, only the rest is resubmitted', async (_name, knobs, mode) => {
    const base = await setup(knobs);
    const input = records(60);
    const jobs: JobEvent[] = [];
    const stage = geminiBatch({ model: 'gemini-2.5-flash', mode, maxRequestsPerBatch: 20, ...base });
    stage.on('job', (e: JobEvent) => jobs.push(e));
    let progress: ProgressSnapshot | undefined;
    stage.on('progress', (p: ProgressSnapshot) => (progress = p));
    const out = await collect(input, stage);

    // Every record: one result, in input order, its own answer.
    expect(out.map((r) => r.key)).toEqual(input.map((r) => r.key));
    expect(out.filter((r) => 'error' in r)).toEqual([]);
    out.forEach((r, i) => expect(responseText(r)).toContain(`prompt ${i} `));

    const c = emu!.counters();
    expect(Object.values(c.createsByDisplayName).every((n) => n === 1)).toBe(true);
    // 3 chunks of 20; each failed/expired one carried 10 results, so only its other 10 went again.
    const broken = [knobs.failJobs, knobs.expireJobs].flat().filter((n) => n !== undefined).length;
    expect(c.batchesCreated).toBe(3 + broken);
    expect(requestsSent(jobs)).toBe(60 + 10 * broken);
    // The service answered each request once: no result was paid for twice.
    expect(c.resultLines).toBe(60);
    const kept = jobs.filter((j) => j.state === 'RESUBMITTING').map((j) => j.detail);
    expect(kept).toHaveLength(broken);
    // The last progress counts each batch once, in its final state.
    const ended = (knobs.failJobs ?? []) as number[];
    const expired = (knobs.expireJobs ?? []) as number[];
    expect(progress?.jobs).toEqual({ SUCCEEDED: 3, ...(ended.length ? { FAILED: ended.length } : {}), ...(expired.length ? { EXPIRED: expired.length } : {}) });
    for (const d of kept) expect(d).toMatch(/(FAILED|EXPIRED) with partial output: 10 results kept, 10 requests go again/);
  });
});
