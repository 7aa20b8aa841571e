/**
 * Ordinary user actions that used to lose or repay paid results (issue 11),
 * each through the CLI as a real process against the emulator: OUT naming
 * INPUT, two runs on one state dir, a resume from another cwd, the same
 * command after a finished run, --fresh.
 */
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGeminiClient } from '../src/backends/gemini/client.js';
import type { RunningEmulator } from '../src/emulator/index.js';
import { batchJsonl, collect, emuEnv, emulator, KEY, runCli, spawnCli, tempDir } from './cli.helpers.js';

const N = 2000;
let emu: RunningEmulator;
let dir: string;
let input: string;
const flags = ['-m', 'gemini-2.5-flash', '--mode', 'file', '--max-requests', '100', '--max-jobs', '2', '--upload-concurrency', '1', '--poll-interval', '20'];

beforeAll(async () => {
  emu = await emulator();
  dir = tempDir('gb-safety-');
  input = join(dir, 'in.jsonl');
  writeFileSync(input, batchJsonl(N));
});
afterAll(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const creates = () => Object.values(emu.counters().createsByDisplayName).reduce((a, b) => a + b, 0);
function expectNoDuplicateCreates(): void {
  expect(Object.entries(emu.counters().createsByDisplayName).filter(([, n]) => n > 1)).toEqual([]);
}
/** One sentence on stderr, no stack trace. */
function expectOneSentence(stderr: string): void {
  expect(stderr).not.toContain('    at ');
  expect(stderr.trim().split('\n')).toHaveLength(1);
}

describe('gemini-batch run: OUT is never INPUT', () => {
  it.each([
    ['the same path', (p: string) => p],
    ['a symlink to INPUT', (p: string) => (symlinkSync(p, `${p}.sym`), `${p}.sym`)],
    ['a hard link to INPUT', (p: string) => (linkSync(p, `${p}.hard`), `${p}.hard`)],
  ])('-o naming %s is refused with exit 2, INPUT untouched, nothing created', async (_what, name) => {
    const sub = join(dir, `same-${_what.replace(/\W/g, '')}`);
    mkdirSync(sub);
    const src = join(sub, 'in.jsonl');
    writeFileSync(src, batchJsonl(10));
    const before = readFileSync(src);
    const out = name(src);
    const r = await runCli(['run', src, '-o', out, ...flags], { env: emuEnv(emu) });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is INPUT .* \(the same file\).*give -o another file/);
    expectOneSentence(r.stderr);
    expect(readFileSync(src).equals(before)).toBe(true);
    expect(existsSync(join(sub, '.gemini-batch'))).toBe(false);
  });

  it('stdin redirected from OUT is refused too', async () => {
    const src = join(dir, 'stdin-same.jsonl');
    writeFileSync(src, batchJsonl(5));
    const { spawn } = await import('node:child_process');
    const { openSync, closeSync } = await import('node:fs');
    const fd = openSync(src, 'r');
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../src/cli/run.ts'), 'run', '-', '-o', src, ...flags], { env: emuEnv(emu), stdio: [fd, 'pipe', 'pipe'] });
    closeSync(fd);
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const code = await new Promise((r) => child.once('close', r));
    expect(code).toBe(2);
    expect(stderr).toContain('is the file stdin reads from');
    expect(readFileSync(src, 'utf8')).toBe(batchJsonl(5));
  });
});

describe('gemini-batch run: one run per state dir', () => {
  it('a second run of the same command is refused at once naming the first; after the first is killed -9 the rerun takes over and finishes', async () => {
    const out = join(dir, 'twice.jsonl');
    const args = ['run', input, '-o', out, ...flags, '--quiet'];
    // Jobs that take a second each: the first run is surely still going when the second starts,
    // however loaded the machine (a fast first run would finish and make the second a no-op).
    const slow = await emulator({ runningMs: 1_000 });
    try {
      const first = spawnCli(args, emuEnv(slow));
      const firstDone = collect(first);
      while (!(existsSync(`${out}.partial`) && statSync(`${out}.partial`).size > 0) && first.exitCode === null) await sleep(5);
      const second = await runCli(args, { env: emuEnv(slow) });
      expect(second.code).toBe(1);
      expect(second.stderr).toContain(`in use by process ${first.pid} on ${hostname()}`);
      expectOneSentence(second.stderr);
      first.kill('SIGKILL');
      await firstDone;
      expect(readFileSync(`${out}.partial`, 'utf8').split('\n').length).toBeLessThan(N);

      const again = await runCli([...args, '--adopt-window', '1000'], { env: emuEnv(slow) });
      expect(again.stderr).toBe('');
      expect(again.code).toBe(0);
      const keys = readFileSync(out, 'utf8').trimEnd().split('\n').map((l) => (JSON.parse(l) as { key: string }).key);
      expect(keys).toEqual(Array.from({ length: N }, (_, i) => `k${i}`));
      expect(Object.entries(slow.counters().createsByDisplayName).filter(([, n]) => n > 1)).toEqual([]);
    } finally {
      await slow.close();
    }
  });
});

describe('gemini-batch run: a relative --state-dir survives a change of cwd', () => {
  it('killed in one directory, resumed from another: every paid result kept, none MISSING_RESULT', async () => {
    const a = join(dir, 'cwd-a');
    const b = join(dir, 'cwd-b');
    mkdirSync(a);
    mkdirSync(b);
    const first = spawnCli(['run', input, '-o', 'out.jsonl', '--state-dir', 'st', ...flags, '--quiet'], emuEnv(emu), a);
    const done = collect(first);
    // Killed mid-run: results are going into OUT.partial (OUT itself appears only at the end).
    const partial = join(a, 'out.jsonl.partial');
    while (!(existsSync(partial) && statSync(partial).size > 20_000) && first.exitCode === null) await sleep(5);
    expect(first.exitCode).toBeNull();
    first.kill('SIGKILL');
    await done;
    expect(existsSync(join(a, 'out.jsonl'))).toBe(false);
    // A kill -9 may land between a create's intent and its answer: a short adoption window keeps the test quick.
    const r = await runCli(['run', input, '-o', '../cwd-a/out.jsonl', '--state-dir', '../cwd-a/st', ...flags, '--quiet', '--adopt-window', '1000'], { env: emuEnv(emu), cwd: b });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = readFileSync(join(a, 'out.jsonl'), 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(N);
    expect(lines.filter((l) => l.includes('"error"'))).toEqual([]);
    expectNoDuplicateCreates();
  });
});

describe('gemini-batch run: a completed run is recognised', () => {
  it('the same command again pays nothing and says so; a changed OUT is refused; --fresh runs it again', async () => {
    const small = join(dir, 'small.jsonl');
    writeFileSync(small, batchJsonl(300));
    const out = join(dir, 'small.out.jsonl');
    const args = ['run', small, '-o', out, ...flags];
    const first = await runCli([...args, '--quiet'], { env: emuEnv(emu) });
    expect(first.code).toBe(0);
    const written = readFileSync(out);
    const createsAfter = creates();

    const again = await runCli(args, { env: emuEnv(emu) });
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/nothing to do: run gb-\w+ already wrote all 300 results to .*small\.out\.jsonl/);
    expectOneSentence(again.stderr);
    expect(creates()).toBe(createsAfter);
    expect(readFileSync(out).equals(written)).toBe(true);

    // OUT edited since: not silently trusted, not silently repaid.
    writeFileSync(out, written.subarray(0, written.length - 10));
    const changed = await runCli(args, { env: emuEnv(emu) });
    expect(changed.code).toBe(2);
    expect(changed.stderr).toMatch(/was changed since; add --fresh/);
    expect(creates()).toBe(createsAfter);

    const fresh = await runCli([...args, '--fresh', '--quiet'], { env: emuEnv(emu) });
    expect(fresh.code).toBe(0);
    expect(creates()).toBe(createsAfter + 3);
    expect(readFileSync(out, 'utf8').trimEnd().split('\n')).toHaveLength(300);
    expectNoDuplicateCreates();
  });

  it('a changed request-building flag refuses a resume, naming the flag', async () => {
    const recs = Array.from({ length: N }, (_, i) => JSON.stringify({ id: `r${i}`, text: `review ${i}` })).join('\n') + '\n';
    const src = join(dir, 'reviews.jsonl');
    writeFileSync(src, recs);
    const out = join(dir, 'reviews.out.jsonl');
    const base = ['run', src, '-o', out, '--prompt-field', 'text', '--key-field', 'id', ...flags, '--quiet'];
    const first = spawnCli([...base, '--system', 'Be terse.'], emuEnv(emu));
    const done = collect(first);
    while (!(existsSync(`${out}.partial`) && statSync(`${out}.partial`).size > 0) && first.exitCode === null) await sleep(5);
    first.kill('SIGKILL');
    await done;
    const r = await runCli([...base, '--system', 'Be verbose.'], { env: emuEnv(emu) });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--system (was "Be terse.", now "Be verbose.")');
    expect(r.stderr).not.toContain('the input differs');
    expectOneSentence(r.stderr);
  });
});

describe('gemini-batch run: work the service no longer has is redone', () => {
  /** Start a run on `svc`, wait until `pending` batches are PENDING, then send `sig`. */
  async function stopWhilePending(svc: RunningEmulator, args: string[], sig: NodeJS.Signals, pending = 2): Promise<number | null> {
    const child = spawnCli([...args, '--json'], emuEnv(svc));
    const done = collect(child);
    let seen = 0;
    for await (const line of createInterface({ input: child.stderr! })) {
      const e = JSON.parse(line) as { event: string; state?: string };
      if (e.event === 'job' && e.state === 'PENDING' && ++seen === pending) break;
    }
    child.kill(sig);
    return (await done).code;
  }

  it('after --cancel-on-abort and Ctrl-C, the same command re-uploads and re-creates the cancelled chunks under new names and completes', async () => {
    const slow = await emulator({ pendingMs: 1_500 });
    try {
      const src = join(dir, 'cancel-in.jsonl');
      writeFileSync(src, batchJsonl(400));
      const out = join(dir, 'cancel.jsonl');
      const args = ['run', src, '-o', out, ...flags, '--cancel-on-abort'];
      expect(await stopWhilePending(slow, args, 'SIGINT')).toBe(130);
      const cancelledNames = Object.keys(slow.counters().createsByDisplayName);
      expect(cancelledNames.length).toBeGreaterThan(0);

      const again = await runCli([...args, '--quiet'], { env: emuEnv(slow) });
      expect(again.code).toBe(0);
      const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
      expect(lines).toHaveLength(400);
      expect(lines.filter((l) => l.includes('"error"'))).toEqual([]);
      const names = slow.counters().createsByDisplayName;
      expect(Object.entries(names).filter(([, n]) => n > 1)).toEqual([]);
      // Each cancelled chunk came back under its next attempt's name.
      for (const n of cancelledNames) expect(names[`${n}-a1`]).toBe(1);
    } finally {
      await slow.close();
    }
  });

  it('batches deleted on the service after a kill -9 are redone; the rerun says so and completes', async () => {
    const slow = await emulator({ pendingMs: 1_500 });
    try {
      const src = join(dir, 'lost-in.jsonl');
      writeFileSync(src, batchJsonl(400));
      const out = join(dir, 'lost.jsonl');
      const args = ['run', src, '-o', out, ...flags];
      await stopWhilePending(slow, args, 'SIGKILL');
      const client = createGeminiClient({ baseUrl: slow.url, apiKey: KEY });
      for await (const op of client.batches.list()) await client.batches.delete(op.name);
      await client.close();

      const again = await runCli(args, { env: emuEnv(slow) });
      expect(again.code).toBe(0);
      expect(again.stderr).toMatch(/redoing 2 batches the service no longer has \(0 cancelled, 2 gone\)/);
      // The summary says so too.
      expect(again.stderr).toMatch(/redone\s+2 batches the service no longer had/);
      const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
      expect(lines).toHaveLength(400);
      expect(lines.filter((l) => l.includes('"error"'))).toEqual([]);
      expect(Object.entries(slow.counters().createsByDisplayName).filter(([, n]) => n > 1)).toEqual([]);
    } finally {
      await slow.close();
    }
  });
});
