/**
 * `--retry-failed N` on a finished run (issue 21, item 13): the same command
 * again sends only the records whose OUT line is a retryable error, rewrites
 * OUT in input order with the same keys, and never sends (so never pays) an
 * answered record again; a kill -9 during the resend and a rerun pay nothing
 * twice; a finished run with nothing retryable creates nothing.
 * Real CLI processes against the emulator over loopback; the emulator's
 * responder counts how often each record was answered.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultResponder, type RunningEmulator } from '../src/emulator/index.js';
import type { Responder } from '../src/emulator/types.js';
import { batchJsonl, collect, emuEnv, emulator, readLines, runCli, spawnCli, tempDir } from './cli.helpers.js';

/** Prompt text → the error its request gets (set and cleared by each test); every answer counted by prompt. */
const failing = new Map<string, { code: number; message: string }>();
const answered = new Map<string, number>();
const promptOf = (request: Record<string, unknown>) => ((request.contents as Array<{ parts: Array<{ text: string }> }>)[0]!.parts[0]!.text);
const responder: Responder = (request, ctx) => {
  const text = promptOf(request);
  answered.set(text, (answered.get(text) ?? 0) + 1);
  const err = failing.get(text);
  return err ? { error: err } : defaultResponder(request, ctx);
};
/** The prompt batchJsonl gives record i. */
const prompt = (i: number) => `prompt ${i}: naïve café ${'ü'.repeat(i % 7)} 東京`;
const INTERNAL = { code: 13, message: 'An internal error has occurred.' };
const UNAVAILABLE = { code: 14, message: 'The service is currently unavailable.' };
const INVALID = { code: 3, message: 'Request contains an invalid argument.' };

const N = 60;
const keys = Array.from({ length: N }, (_, i) => `k${i}`);
let emu: RunningEmulator;
let dir: string;
beforeAll(async () => {
  // Jobs run for 400 ms: long enough to kill a resend while its batch runs.
  emu = await emulator({ responder, runningMs: 400 });
  dir = tempDir('gb-retry-finished-');
});
afterAll(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

const flags = ['-m', 'gemini-2.5-flash', '--mode', 'file', '--max-requests', '25', '--poll-interval', '20', '--adopt-window', '1000'];
const run = (input: string, out: string, extra: string[] = []) => runCli(['run', input, '-o', out, ...flags, ...extra], { env: emuEnv(emu) });
const creates = () => emu.counters().batchesCreated;
const answers = (is: number[]) => is.map((i) => answered.get(prompt(i)) ?? 0);
const statusOf = (l: Record<string, unknown>) => (l.error as { status?: string } | undefined)?.status;

function setup(name: string): { input: string; out: string } {
  const input = join(dir, `${name}.in.jsonl`);
  writeFileSync(input, batchJsonl(N));
  answered.clear();
  failing.clear();
  return { input, out: join(dir, `${name}.out.jsonl`) };
}

describe('run --retry-failed on a finished run', () => {
  it('resends only the retryable errors, rewrites OUT in order with the same keys, and then has nothing left to do', async () => {
    const { input, out } = setup('basic');
    for (const i of [5, 17, 40]) failing.set(prompt(i), INTERNAL);
    failing.set(prompt(9), UNAVAILABLE);
    failing.set(prompt(30), INVALID);
    const first = await run(input, out);
    expect(first.code, first.stderr).toBe(0);
    const before = readFileSync(out, 'utf8').split('\n');
    expect(readLines(out).filter((l) => l.error)).toHaveLength(5);

    // The service is better now, except for record 9.
    for (const i of [5, 17, 30, 40]) failing.delete(prompt(i));
    const created = creates();
    const again = await run(input, out, ['--retry-failed', '1']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('resending 4 of 60 records whose result is a retryable error (3 INTERNAL, 1 UNAVAILABLE), up to 1 time each (left as they are: 1 INVALID_ARGUMENT)');
    expect(again.stderr).toContain('resent 4 records: 3 now answered, 1 still failing');
    // One batch, with exactly the four records; nothing else answered again.
    expect(creates() - created).toBe(1);
    expect(answers([5, 9, 17, 40])).toEqual([2, 2, 2, 2]);
    expect(answers([30])).toEqual([1]);
    expect(Array.from({ length: N }, (_, i) => i).filter((i) => ![5, 9, 17, 40].includes(i)).every((i) => answered.get(prompt(i)) === 1)).toBe(true);

    const lines = readLines(out);
    expect(lines.map((l) => l.key)).toEqual(keys);
    expect(lines.filter((l) => l.error).map((l) => [l.key, statusOf(l)])).toEqual([['k9', 'UNAVAILABLE'], ['k30', 'INVALID_ARGUMENT']]);
    // Lines not resent are the same bytes.
    const after = readFileSync(out, 'utf8').split('\n');
    for (let i = 0; i < N; i++) if (![5, 17, 40].includes(i)) expect(after[i]).toBe(before[i]);
    expect(existsSync(`${out}.partial`)).toBe(false);

    // The same command without the flag: OUT is still the run's own.
    const plain = await run(input, out);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stderr).toMatch(/nothing to do: run \S+ already wrote all 60 results/);

    // Record 9 goes again (and now succeeds); then there is nothing retryable left.
    failing.clear();
    const third = await run(input, out, ['--retry-failed', '2']);
    expect(third.code, third.stderr).toBe(0);
    expect(third.stderr).toContain('resent 1 record: 1 now answered, 0 still failing');
    expect(answers([9])).toEqual([3]);
    const createdBefore = creates();
    const uploads = emu.counters().uploadsStarted;
    const fourth = await run(input, out, ['--retry-failed', '2']);
    expect(fourth.code, fourth.stderr).toBe(0);
    expect(fourth.stderr).toContain('nothing to resend: none of the 60 results of run');
    expect(fourth.stderr).toContain('(left as they are: 1 INVALID_ARGUMENT)');
    expect(creates()).toBe(createdBefore);
    expect(emu.counters().uploadsStarted).toBe(uploads);
    expect(readLines(out).map((l) => l.key)).toEqual(keys);
  });

  it('a finished run with no retryable error: no upload, no create, OUT untouched', async () => {
    const { input, out } = setup('none');
    failing.set(prompt(3), INVALID);
    expect((await run(input, out)).code).toBe(0);
    const bytes = readFileSync(out);
    const created = creates();
    const uploads = emu.counters().uploadsStarted;
    const r = await run(input, out, ['--retry-failed', '3', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('"event":"notice"');
    expect(r.stderr).toContain('nothing to resend');
    expect(creates()).toBe(created);
    expect(emu.counters().uploadsStarted).toBe(uploads);
    expect(readFileSync(out).equals(bytes)).toBe(true);
  });

  it('keys by record number (no key in INPUT) stay the OUT line numbers after a resend; --json has a resent summary', async () => {
    const input = join(dir, 'keyless.in.jsonl');
    writeFileSync(input, Array.from({ length: 12 }, (_, i) => `${JSON.stringify({ text: prompt(i) })}\n`).join(''));
    const out = join(dir, 'keyless.out.jsonl');
    failing.clear();
    failing.set(prompt(7), INTERNAL);
    failing.set(prompt(10), INTERNAL);
    expect((await run(input, out, ['--prompt-field', 'text'])).code).toBe(0);
    const keysBefore = readLines(out).map((l) => l.key);
    failing.clear();
    const r = await run(input, out, ['--prompt-field', 'text', '--retry-failed', '1', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const events = r.stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { event: string; resent?: unknown });
    expect(events.find((e) => e.event === 'summary')?.resent).toEqual({ records: 2, answered: 2, failing: 0, notSent: 0 });
    const lines = readLines(out);
    expect(lines.map((l) => l.key)).toEqual(keysBefore);
    expect(lines.every((l) => l.response)).toBe(true);
  });

  it('a kill -9 during the resend and the same command again: each resent record is sent once, no batch created twice', async () => {
    const { input, out } = setup('kill');
    const picked = [2, 11, 26, 27, 48, 59];
    for (const i of picked) failing.set(prompt(i), INTERNAL);
    expect((await run(input, out)).code).toBe(0);
    failing.clear();
    const byName = () => ({ ...emu.counters().createsByDisplayName });
    const namesBefore = byName();
    const created = creates();

    const child = spawnCli(['run', input, '-o', out, ...flags, '--retry-failed', '1'], emuEnv(emu));
    const done = collect(child);
    // Killed once its batch is on the service, while the batch runs.
    const deadline = Date.now() + 20_000;
    while (creates() === created && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(creates()).toBe(created + 1);
    child.kill('SIGKILL');
    const killed = await done;
    expect(killed.signal).toBe('SIGKILL');
    expect(readLines(out).filter((l) => l.error)).toHaveLength(picked.length); // OUT as it was

    const rerun = await run(input, out, ['--retry-failed', '1']);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.stderr).toContain('resuming the resend of 6 records');
    expect(rerun.stderr).toContain('resent 6 records: 6 now answered, 0 still failing');
    expect(creates()).toBe(created + 1);
    const newNames = Object.entries(byName()).filter(([k]) => !(k in namesBefore));
    expect(newNames).toHaveLength(1);
    expect(newNames[0]![1]).toBe(1);
    expect(answers(picked)).toEqual(picked.map(() => 2));
    const lines = readLines(out);
    expect(lines.map((l) => l.key)).toEqual(keys);
    expect(lines.every((l) => l.response)).toBe(true);
  });

  it('--max-cost counts what the finished run spent: a resend that does not fit keeps the old lines and exits 4; a larger cap resends', async () => {
    const { input, out } = setup('budget');
    for (const i of [8, 33]) failing.set(prompt(i), INTERNAL);
    const budget = ['--max-cost', '1', '--output-tokens', '100'];
    expect((await run(input, out, budget)).code).toBe(0);
    const bytes = readFileSync(out);
    failing.clear();
    // What the finished run spent, from its journal: the resend may add only a hundredth of a cent.
    const journal = readFileSync(join(dir, '.gemini-batch', 'budget.out.jsonl', 'journal.jsonl'), 'utf8');
    const spent = journal
      .split('\n')
      .filter((l) => l.includes('"t":"cost"'))
      .reduce((t, l) => t + (JSON.parse(l) as { usd: number }).usd, 0);
    expect(spent).toBeGreaterThan(0);
    const created = creates();
    const tight = await run(input, out, ['--retry-failed', '1', '--max-cost', (spent + 0.00001).toFixed(8), '--output-tokens', '100']);
    expect(tight.code, tight.stderr).toBe(4);
    expect(tight.stderr).toContain('resent 2 records: 0 now answered, 0 still failing, 2 not sent (the --max-cost budget ran out');
    expect(creates()).toBe(created);
    expect(readFileSync(out).equals(bytes)).toBe(true);
    const wide = await run(input, out, ['--retry-failed', '1', ...budget]);
    expect(wide.code, wide.stderr).toBe(0);
    expect(wide.stderr).toContain('resent 2 records: 2 now answered, 0 still failing');
    expect(readLines(out).every((l) => l.response)).toBe(true);
  });

  it('other changed flags on a finished run are still a new run, not a resend', async () => {
    const { input, out } = setup('changed');
    failing.set(prompt(4), INTERNAL);
    expect((await run(input, out)).code).toBe(0);
    failing.clear();
    const r = await run(input, out, ['--retry-failed', '1', '--max-requests', '30']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/starting a new run: run \S+ completed with other flags: --max-requests \(was 25, now 30\)/);
    expect(r.stderr).not.toContain('--retry-failed (was');
  });
});
