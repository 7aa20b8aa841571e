/**
 * Library `cancelOnAbort: true` in a script that exits on the error (issue
 * 21 item 6): the pipeline must not reject before the cancels are sent and
 * answered, or `process.exit(1)` in the catch leaves every batch RUNNING (and
 * paid for). A real child process, a real exit, an emulator whose jobs run
 * for a minute.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../src/emulator/index.js';
import { createGeminiClient } from '../src/index.js';
import { ROOT, TSX } from './cli.helpers.js';

let emu: RunningEmulator;
let dir: string;
beforeAll(async () => {
  emu = await startEmulator({ port: 0, pendingMs: 10, runningMs: 60_000 });
  dir = mkdtempSync(join(tmpdir(), 'gb-cancel-exit-'));
});
afterAll(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The README's pattern: pipeline with cancelOnAbort, abort once 5 batches run, exit 1 in the catch. */
const script = (url: string) => `
import { pipeline } from 'node:stream/promises';
import { Readable, Writable } from 'node:stream';
import { geminiBatch } from ${JSON.stringify(join(ROOT, 'src/index.ts'))};
const ac = new AbortController();
const records = Array.from({ length: 50 }, (_, i) => ({ key: 'k' + i, request: { contents: [{ parts: [{ text: 'p ' + i }] }] } }));
const stage = geminiBatch({ model: 'gemini-2.5-flash', baseUrl: ${JSON.stringify(url)}, apiKey: 'k', mode: 'file', maxRequestsPerBatch: 10, maxJobsInFlight: 5,
  cancelOnAbort: true, signal: ac.signal, runId: 'exit-test', pollInterval: { initialMs: 10, maxMs: 50 } });
const running = new Set();
stage.on('job', (e) => { if (e.state === 'RUNNING' && e.batchName) { running.add(e.batchName); if (running.size === 5) ac.abort(); } });
try {
  await pipeline(Readable.from(records), stage, new Writable({ objectMode: true, write: (_r, _e, cb) => cb() }));
} catch (err) {
  console.log(JSON.stringify([...running]));
  process.exit(1);
}
`;

describe('cancelOnAbort in a script that exits on the error', () => {
  it('every batch it ran is cancelled by the time the script has exited', async () => {
    const file = join(dir, 'script.mts');
    writeFileSync(file, script(emu.url));
    const child = spawn(process.execPath, ['--import', TSX, file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(1);
    const names = JSON.parse(stdout) as string[];
    expect(names).toHaveLength(5);
    // Asked at once, no wait: the cancels reached the service before the process ended.
    const client = createGeminiClient({ baseUrl: emu.url, apiKey: 'k' });
    try {
      for (const name of names) expect((await client.batches.get(name)).state).toBe('CANCELLED');
    } finally {
      await client.close();
    }
  }, 60_000);
});
