/**
 * The crash matrix of the reliability issue: the CLI is SIGKILLed at exact
 * moments (GEMINI_BATCH_CRASH_AT, a real kill -9 the process sends itself)
 * and run again with the same command. Every time, the final output is
 * byte-identical to an uninterrupted run, and the emulator's counters show
 * each chunk's batch created once and each upload started once.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/emulator/index.js';
import { emuEnv, emulator, runCli, tempDir } from './cli.helpers.js';

let emu: RunningEmulator;
let dir: string;
let input: string;
let reference: Buffer;

// ~14 MB in 2 chunks: the first is uploaded in two 8 MiB pieces, so a crash can land mid-upload.
const N = 18_000;
const flags = ['-m', 'gemini-2.5-flash', '--mode', 'file', '--max-requests', '12000', '--max-jobs', '2', '--poll-interval', '20', '--adopt-window', '5000', '--quiet'];

function bigJsonl(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) {
    const text = `crash ${i}: ${'naïve café 東京 '.repeat(40)}`;
    s += `${JSON.stringify({ key: `c${i}`, request: { contents: [{ role: 'user', parts: [{ text }] }] } })}\n`;
  }
  return s;
}

beforeAll(async () => {
  emu = await emulator({ runningMs: 300, shuffleResults: true });
  dir = tempDir('gb-crash-');
  input = join(dir, 'in.jsonl');
  writeFileSync(input, bigJsonl(N));
  const out = join(dir, 'reference.jsonl');
  const r = await runCli(['run', input, '-o', out, ...flags], { env: emuEnv(emu) });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  reference = readFileSync(out);
}, 120_000);
afterAll(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

describe.each([
  ['upload-piece', 'during an upload, after its first piece'],
  ['create-sent', 'right after a create was sent, before its answer was recorded'],
  ['polling', 'while polling a running batch'],
  ['results-downloaded', 'after results were downloaded, before they were recorded'],
  ['create-sent:2', 'after the second create, with the first batch done or running'],
])('kill -9 at %s', (point, when) => {
  it(`${when}: the rerun finishes with identical output, nothing created or uploaded twice`, async () => {
    const out = join(dir, `${point.replace(':', '-')}.jsonl`);
    const state = join(dir, `${point.replace(':', '-')}.state`);
    const before = emu.counters();
    const crashed = await runCli(['run', input, '-o', out, '--state-dir', state, ...flags], { env: { ...emuEnv(emu), GEMINI_BATCH_CRASH_AT: point } });
    expect(crashed.signal).toBe('SIGKILL');
    const resumed = await runCli(['run', input, '-o', out, '--state-dir', state, ...flags], { env: emuEnv(emu) });
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    expect(readFileSync(out).equals(reference)).toBe(true);
    const after = emu.counters();
    const created = Object.entries(after.createsByDisplayName).filter(([name]) => !(name in before.createsByDisplayName));
    expect(created.length).toBe(2);
    expect(created.filter(([, n]) => n !== 1)).toEqual([]);
    // Two chunks, two upload sessions: a crashed upload was continued, not started over.
    expect(after.uploadsStarted - before.uploadsStarted).toBe(2);
  }, 120_000);
});
