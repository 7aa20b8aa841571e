/**
 * Stage 1 through the CLI, as a user meets it: an over-long line with
 * --emulator is one invalid record (never a crash with an unhandled 'error'
 * event), its message names the physical line and key and says how to go on,
 * and --on-invalid emit covers it.
 */
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { batchJsonl, cliEnv, runCli, tempDir } from './cli.helpers.js';

const dir = tempDir('gb-trl-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const fast = ['--poll-interval', '20'];

function input(): string {
  const good = batchJsonl(3).trimEnd().split('\n');
  const long = JSON.stringify({ key: 'long', request: { contents: [{ parts: [{ text: 'z'.repeat(600) }] }] } });
  const path = join(dir, 'in.jsonl');
  writeFileSync(path, `${good[0]}\n\n${long}\n${good[1]}\n`);
  return path;
}

describe('an over-long line through the CLI with --emulator', () => {
  it('stops with one sentence naming line and key and the --on-invalid emit way on, exit 1, no stack trace', async () => {
    const r = await runCli(['run', input(), '-m', 'gemini-2.5-flash', '-o', '-', '--emulator', '--max-line-bytes', '400', ...fast], { env: cliEnv() });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/line 3 \(key "long"\): the line is longer than 400 bytes/);
    expect(r.stderr).toContain('--on-invalid emit');
    expect(r.stderr).not.toContain('    at ');
    expect(r.stderr).not.toContain('toRequest');
  });

  it('with --on-invalid emit becomes that record\'s error result and the run completes', async () => {
    const r = await runCli(['run', input(), '-m', 'gemini-2.5-flash', '-o', '-', '--emulator', '--max-line-bytes', '400', '--on-invalid', 'emit', ...fast], { env: cliEnv() });
    expect(r.code).toBe(0);
    const out = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { key: string; error?: { message: string; status: string } });
    expect(out.map((o) => o.key)).toEqual(['k0', 'long', 'k1']);
    expect(out[1]!.error?.status).toBe('INVALID_RECORD');
    expect(out[1]!.error?.message).toMatch(/^line 3 \(key "long"\): the line is longer than 400 bytes/);
  });
});
