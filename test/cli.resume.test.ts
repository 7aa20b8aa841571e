/**
 * The CLI resume path: a run killed with SIGKILL (or stopped with SIGINT) and
 * started again with the same command ends with exactly the bytes of an
 * uninterrupted run, and never creates a batch twice.
 */
import { appendFileSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/emulator/index.js';
import { createGeminiClient } from '../src/backends/gemini/client.js';
import { batchJsonl, collect, emuEnv, emulator, KEY, runCli, spawnCli, tempDir } from './cli.helpers.js';

const N = 4000;
let emu: RunningEmulator;
let dir: string;
let input: string;
let reference: Buffer;

// Many small batches, few at a time: the run lasts long enough to be killed in the middle.
// --adopt-window: a create cut by the kill is looked for by name before a second create, 90 s by default.
const flags = ['-m', 'gemini-2.5-flash', '--mode', 'file', '--max-requests', '100', '--max-jobs', '2', '--upload-concurrency', '1', '--poll-interval', '20', '--adopt-window', '1000'];

beforeAll(async () => {
  emu = await emulator();
  dir = tempDir('gb-resume-');
  input = join(dir, 'in.jsonl');
  writeFileSync(input, batchJsonl(N));
  const out = join(dir, 'reference.jsonl');
  const r = await runCli(['run', input, '-o', out, ...flags, '--quiet'], { env: emuEnv(emu) });
  expect(r.code).toBe(0);
  reference = readFileSync(out);
});
afterAll(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function lineCount(path: string): number {
  if (!existsSync(path)) return 0;
  return readFileSync(path).toString('latin1').split('\n').length - 1;
}

/** Every batch this emulator ever created was created once. */
function expectNoDuplicateCreates(): void {
  const creates = emu.counters().createsByDisplayName;
  const twice = Object.entries(creates).filter(([, n]) => n > 1);
  expect(twice).toEqual([]);
}

describe('gemini-batch run: resume', () => {
  it('after kill -9 while results are being written: byte-identical output, no batch created twice', async () => {
    const out = join(dir, 'killed.jsonl');
    const state = join(dir, 'killed-state');
    const args = ['run', input, '-o', out, '--state-dir', state, ...flags, '--quiet'];
    const child = spawnCli(args, emuEnv(emu));
    const done = collect(child);
    // Wait for results to start landing, then kill without warning.
    while (!(existsSync(`${out}.partial`) && statSync(`${out}.partial`).size > 20_000)) {
      if (child.exitCode !== null) break;
      await sleep(5);
    }
    child.kill('SIGKILL');
    const killed = await done;
    expect(killed.signal).toBe('SIGKILL');
    const linesAtKill = lineCount(`${out}.partial`);
    expect(existsSync(out)).toBe(false); // OUT appears only when the run succeeded
    expect(linesAtKill).toBeGreaterThan(0);
    expect(linesAtKill).toBeLessThan(N);
    // A write torn by the kill: the rerun must cut it away, not keep it.
    appendFileSync(`${out}.partial`, '{"key":"k99","resp');

    const again = await runCli(args, { env: emuEnv(emu) });
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(readFileSync(out).equals(reference)).toBe(true);
    expectNoDuplicateCreates();
  });

  it('the summary of a resumed session prices the whole run from the journal, earlier sessions included', async () => {
    const out = join(dir, 'priced.jsonl');
    const state = join(dir, 'priced-state');
    const args = ['run', input, '-o', out, '--state-dir', state, ...flags];
    const child = spawnCli([...args, '--quiet'], emuEnv(emu));
    const done = collect(child);
    while (!(existsSync(`${out}.partial`) && statSync(`${out}.partial`).size > 20_000)) {
      if (child.exitCode !== null) break;
      await sleep(5);
    }
    child.kill('SIGKILL');
    expect((await done).signal).toBe('SIGKILL');
    const again = await runCli(args, { env: emuEnv(emu) });
    expect(again.code).toBe(0);
    const session = Number(/cost\s+~\$([\d.]+)/.exec(again.stderr)?.[1]);
    const whole = /run cost ~\$([\d.]+) for the whole run \((\d+) batch(?:es)?, earlier sessions included\)/.exec(again.stderr);
    expect(whole, again.stderr).not.toBeNull();
    expect(Number(whole![1])).toBeGreaterThanOrEqual(session);
    expect(Number(whole![2])).toBeGreaterThan(0);
  });

  it('after kill -9 right after the first batch was created: byte-identical output, no batch created twice', async () => {
    const out = join(dir, 'early.jsonl');
    const state = join(dir, 'early-state');
    const args = ['run', input, '-o', out, '--state-dir', state, ...flags];
    const child = spawnCli([...args, '--json'], emuEnv(emu));
    const done = collect(child);
    const events = createInterface({ input: child.stderr! });
    for await (const line of events) {
      const e = JSON.parse(line) as { event: string; batchName?: string };
      if (e.event === 'job' && e.batchName) break;
    }
    child.kill('SIGKILL');
    await done;
    const created = Object.keys(emu.counters().createsByDisplayName).length;
    expect(created).toBeGreaterThan(0);

    const again = await runCli(args, { env: emuEnv(emu) });
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('resuming');
    expect(readFileSync(out).equals(reference)).toBe(true);
    expectNoDuplicateCreates();
  });

  it('SIGINT stops with exit 130, keeps what was written, and the same command finishes the job', async () => {
    const out = join(dir, 'sigint.jsonl');
    const args = ['run', input, '-o', out, ...flags];
    const child = spawnCli(args, emuEnv(emu));
    const done = collect(child);
    while (!(existsSync(`${out}.partial`) && statSync(`${out}.partial`).size > 0) && child.exitCode === null) await sleep(5);
    child.kill('SIGINT');
    const stopped = await done;
    expect(stopped.code).toBe(130);
    expect(stopped.stderr).toContain('run the same command again to resume');
    expect(stopped.stderr).not.toContain('    at ');
    const kept = readFileSync(`${out}.partial`);
    // Only whole lines were written, and they are the start of the reference.
    expect(kept.length === 0 || kept[kept.length - 1] === 0x0a).toBe(true);
    expect(reference.subarray(0, kept.length).equals(kept)).toBe(true);
    // The default state dir sits next to OUT, named after it.
    expect(existsSync(join(dir, '.gemini-batch', 'sigint.jsonl', 'journal.jsonl'))).toBe(true);

    const again = await runCli(args, { env: emuEnv(emu) });
    expect(again.code).toBe(0);
    expect(readFileSync(out).equals(reference)).toBe(true);
    // Completed: the results kept for the resume are gone, the journal says so.
    expect(readFileSync(join(dir, '.gemini-batch', 'sigint.jsonl', 'journal.jsonl'), 'utf8')).toContain('"t":"complete"');
    expectNoDuplicateCreates();
  });

  it('--cancel-on-abort: SIGTERM cancels the batches in flight and exits 143', async () => {
    // An emulator whose jobs sit in PENDING long enough to be caught in flight.
    const slow = await emulator({ pendingMs: 60_000 });
    try {
      const out = join(dir, 'cancel.jsonl');
      const child = spawnCli(['run', input, '-o', out, ...flags, '--json', '--cancel-on-abort'], emuEnv(slow));
      const done = collect(child);
      // --max-jobs 2: once two batches are PENDING no create can be in flight, so every batch is known.
      let pending = 0;
      for await (const line of createInterface({ input: child.stderr! })) {
        const e = JSON.parse(line) as { event: string; state?: string };
        if (e.event === 'job' && e.state === 'PENDING' && ++pending === 2) break;
      }
      child.kill('SIGTERM');
      const stopped = await done;
      expect(stopped.code).toBe(143);
      const client = createGeminiClient({ baseUrl: slow.url, apiKey: KEY });
      const states: string[] = [];
      for await (const op of client.batches.list()) states.push(op.state);
      await client.close();
      expect(states.length).toBeGreaterThan(0);
      expect(states.every((s) => s === 'CANCELLED')).toBe(true);
    } finally {
      await slow.close();
    }
  });

  it('a different input against the same state dir is refused in one sentence', async () => {
    const out = join(dir, 'mismatch.jsonl');
    const state = join(dir, 'mismatch-state');
    const args = ['run', input, '-o', out, '--state-dir', state, ...flags, '--quiet'];
    const child = spawnCli(args, emuEnv(emu));
    const done = collect(child);
    while (!(existsSync(`${out}.partial`) && statSync(`${out}.partial`).size > 0) && child.exitCode === null) await sleep(5);
    child.kill('SIGKILL');
    await done;
    const other = join(dir, 'other.jsonl');
    writeFileSync(other, batchJsonl(N, 1));
    const r = await runCli(['run', other, '-o', out, '--state-dir', state, ...flags], { env: emuEnv(emu) });
    expect(r.code).toBe(2); // a refused resume is a refusal (README: exit 2)
    expect(r.stderr).toContain('the input differs');
    expect(r.stderr).toContain('use another state dir (--state-dir)'); // the library names its option, the CLI the flag
    expect(r.stderr).not.toContain('    at ');
  });
});
