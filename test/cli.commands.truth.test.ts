/**
 * `files` and `jobs` commands say what happened: a delete the service cannot
 * do (a batch output file, id over 40 characters) or a cancel of a job that
 * already ended is not reported as done, and exits 2. Real CLI processes
 * against the emulator over loopback.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/emulator/index.js';
import { batchJsonl, emuEnv, emulator, runCli, tempDir } from './cli.helpers.js';

let emu: RunningEmulator;
let dir: string;
let files: Array<{ name: string }>;
let job: string;

beforeAll(async () => {
  emu = await emulator();
  dir = tempDir();
  const input = join(dir, 'in.jsonl');
  writeFileSync(input, batchJsonl(3));
  const env = emuEnv(emu);
  const run = await runCli(['run', input, '-m', 'gemini-2.5-flash', '-o', join(dir, 'out.jsonl'), '--mode', 'file', '--no-cleanup', '--poll-interval', '20', '--quiet'], { env });
  expect(run.code).toBe(0);
  files = (await runCli(['files', 'list', '--json'], { env })).stdout.trim().split('\n').map((l) => JSON.parse(l) as { name: string });
  job = (JSON.parse((await runCli(['jobs', 'list', '--json'], { env })).stdout.trim().split('\n')[0]!) as { name: string }).name;
});
afterAll(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('files delete', () => {
  it('refuses a batch output file (id over 40 chars): says why, exits 2, and the file is still there', async () => {
    const output = files.find((f) => f.name.length - 'files/'.length > 40);
    expect(output, 'the run left its output file').toBeDefined();
    const env = emuEnv(emu);
    const r = await runCli(['files', 'delete', output!.name], { env });
    expect(r.stdout).not.toContain('deleted');
    expect(r.stderr).toMatch(/cannot delete files\/batch-.*over 40 characters.*48 h/);
    expect(r.stderr).not.toContain('    at ');
    expect(r.code).toBe(2);
    const after = (await runCli(['files', 'list', '--json'], { env })).stdout;
    expect(after).toContain(output!.name);
  });

  it('deletes an uploaded file and says so', async () => {
    const upload = files.find((f) => f.name.length - 'files/'.length <= 40);
    expect(upload).toBeDefined();
    const r = await runCli(['files', 'delete', upload!.name], { env: emuEnv(emu) });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`deleted ${upload!.name}`);
  });
});

describe('jobs cancel', () => {
  it('refuses a job that already succeeded instead of printing "cancelled"', async () => {
    const r = await runCli(['jobs', 'cancel', job], { env: emuEnv(emu) });
    expect(r.stdout).not.toMatch(/cancel/);
    expect(r.stderr).toMatch(/cannot cancel .*already ended \(SUCCEEDED\)/);
    expect(r.code).toBe(2);
  });
});
