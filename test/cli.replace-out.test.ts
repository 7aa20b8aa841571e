/**
 * OUT is replaced only by a run that succeeded (issue 21, items 1, 12, 14),
 * through the CLI as real processes against the emulator: a rerun with one
 * changed flag that fails leaves a finished OUT and its journal byte for byte
 * as they were, and the original command still finds its run complete; an
 * OUT this tool did not write needs --overwrite; `-o -` says it cannot resume.
 */
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/emulator/index.js';
import { batchJsonl, cliEnv, emuEnv, emulator, runCli, tempDir } from './cli.helpers.js';

const N = 120;
let emu: RunningEmulator;
let dir: string;
let input: string;
const flags = ['-m', 'gemini-2.5-flash', '--mode', 'file', '--max-requests', '50', '--poll-interval', '20'];

beforeAll(async () => {
  emu = await emulator();
  dir = tempDir('gb-replace-out-');
  input = join(dir, 'in.jsonl');
  writeFileSync(input, batchJsonl(N));
});
afterAll(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

const creates = () => Object.values(emu.counters().createsByDisplayName).reduce((a, b) => a + b, 0);

/** Every file of a state dir with its bytes. */
function snapshot(stateDir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name === 'lock' || e.name === 'lock.owner') continue; // taken and given back by every run
      if (e.isDirectory()) walk(join(d, e.name), `${rel}${e.name}/`);
      else files[`${rel}${e.name}`] = readFileSync(join(d, e.name), 'latin1');
    }
  };
  walk(stateDir, '');
  return files;
}

describe('gemini-batch run: OUT is replaced only by a run that succeeded', () => {
  it('a rerun with a changed flag and a wrong key fails and leaves OUT and the journal as they were; the original command still says nothing to do', async () => {
    const out = join(dir, 'done.jsonl');
    const stateDir = join(dir, '.gemini-batch', 'done.jsonl');
    const args = ['run', input, '-o', out, ...flags, '--quiet'];
    const first = await runCli(args, { env: emuEnv(emu) });
    expect(first.code).toBe(0);
    const written = readFileSync(out);
    expect(written.toString().trimEnd().split('\n')).toHaveLength(N);
    const state = snapshot(stateDir);
    expect(state['journal.jsonl']).toContain('"t":"complete"');

    // One flag changed (a new run), and the service refuses the key: nothing can be sent.
    const wrongKey = cliEnv({ GOOGLE_GEMINI_BASE_URL: emu.url, GEMINI_API_KEY: 'not-the-key' });
    const failed = await runCli(['run', input, '-o', out, ...flags, '--max-requests', '40'], { env: wrongKey });
    expect(failed.code).not.toBe(0);
    expect(readFileSync(out).equals(written)).toBe(true);
    expect(snapshot(stateDir)).toEqual(state);
    expect(existsSync(`${out}.partial`)).toBe(false);

    const createsBefore = creates();
    const again = await runCli(['run', input, '-o', out, ...flags], { env: emuEnv(emu) });
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/nothing to do: run gb-\w+ already wrote all 120 results/);
    expect(creates()).toBe(createsBefore);
    expect(readFileSync(out).equals(written)).toBe(true);
  }, 120_000);

  it('an existing OUT no run wrote is refused (exit 2, one sentence, untouched) unless --overwrite', async () => {
    const out = join(dir, 'source.csv');
    writeFileSync(out, 'id,text\n1,hello\n');
    const createsBefore = creates();
    const r = await runCli(['run', input, '-o', out, ...flags], { env: emuEnv(emu) });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`OUT ${out} already exists and was not written by a run of gemini-batch; add --overwrite`);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(readFileSync(out, 'utf8')).toBe('id,text\n1,hello\n');
    expect(creates()).toBe(createsBefore);

    const o = await runCli(['run', input, '-o', out, ...flags, '--overwrite', '--quiet'], { env: emuEnv(emu) });
    expect(o.code).toBe(0);
    expect(readFileSync(out, 'utf8').trimEnd().split('\n')).toHaveLength(N);
  }, 120_000);

  it('-o - warns once on stderr that the run cannot resume, and how to make it resumable', async () => {
    const r = await runCli(['run', input, '-o', '-', ...flags], { env: emuEnv(emu) });
    expect(r.code).toBe(0);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(N);
    const warnings = r.stderr.split('\n').filter((l) => l.includes('cannot resume'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('-o FILE');
  }, 120_000);
});
