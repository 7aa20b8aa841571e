/**
 * Messages a user can cause (issue 11): one sentence with the fix, no stack
 * trace, the right exit code. Real CLI processes against the emulator.
 */
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/emulator/index.js';
import { batchJsonl, cliEnv, collect, emuEnv, emulator, ROOT, runCli, spawnCli, tempDir, TSX } from './cli.helpers.js';

let emu: RunningEmulator;
let dir: string;
const fast = ['-m', 'gemini-2.5-flash', '--poll-interval', '20'];

beforeAll(async () => {
  emu = await emulator();
  dir = tempDir('gb-messages-');
});
afterAll(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

function expectOneSentence(stderr: string): void {
  expect(stderr).not.toContain('    at ');
  expect(stderr.trim().split('\n')).toHaveLength(1);
}

describe('gemini-batch run: messages and exit codes', () => {
  it('a run where every record failed exits 3; one ok record is enough for 0', async () => {
    const failing = await emulator({ requestErrorRate: 1 });
    try {
      const input = join(dir, 'fail.jsonl');
      writeFileSync(input, batchJsonl(20));
      const r = await runCli(['run', input, '-o', '-', ...fast, '--quiet'], { env: emuEnv(failing) });
      expect(r.stdout.trimEnd().split('\n')).toHaveLength(20);
      expect(r.stdout).not.toContain('"response"');
      expect(r.code).toBe(3);
    } finally {
      await failing.close();
    }
    const ok = await runCli(['run', '-', '-o', '-', ...fast, '--quiet'], { env: emuEnv(emu), stdin: batchJsonl(3) });
    expect(ok.code).toBe(0);
  });

  it('--key-field naming a field the records do not have is an error naming the flag', async () => {
    const input = join(dir, 'reviews.jsonl');
    writeFileSync(input, '{"id":"r1","text":"a"}\n{"id":"r2","text":"b"}\n');
    const r = await runCli(['run', input, '-o', '-', ...fast, '--prompt-field', 'text', '--key-field', 'idd'], { env: emuEnv(emu) });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('line 1');
    expect(r.stderr).toContain('has no "idd" field (named by --key-field)');
    expect(r.stdout).toBe('');
    expectOneSentence(r.stderr);
  });

  it('a flag value the library refuses names the flag, not the library option, and exits 2', async () => {
    const r = await runCli(['run', '-', '-o', '-', ...fast, '--max-file-bytes', '3000000000'], { env: emuEnv(emu), stdin: batchJsonl(1) });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--max-file-bytes');
    expect(r.stderr).not.toContain('maxFileBytes');
    expectOneSentence(r.stderr);
  });

  it('-o under /proc fails at once with exit 2 instead of spinning', async () => {
    const started = Date.now();
    const r = await runCli(['run', '-', '-o', '/proc/gb-nonexistent/out.jsonl', ...fast], { env: emuEnv(emu), stdin: batchJsonl(1) });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot create the state dir .*give -o a file in a writable directory/);
    expectOneSentence(r.stderr);
    // Generous: a spinning process would hit vitest's timeout instead.
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('`run --help | head` (stdout closed early) ends quietly, exit 0', async () => {
    const child = spawn(process.execPath, ['--import', TSX, join(ROOT, 'src/cli/run.ts'), 'run', '--help'], { env: cliEnv(), cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // the reader is gone before the first write
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const code = await new Promise((r) => child.once('close', r));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('results to stdout whose reader leaves early: no stack trace, no message', async () => {
    const child = spawnCli(['run', '-', '-o', '-', ...fast, '--quiet'], emuEnv(emu));
    child.stdout!.once('data', () => child.stdout!.destroy());
    const r = await collect(child, batchJsonl(3000));
    expect(r.stderr).toBe('');
    expect(r.code).not.toBeNull();
  });
});
