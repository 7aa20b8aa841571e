/**
 * Gzip by extension: a `.jsonl.gz` or `.json.gz` INPUT is read through gunzip
 * (as it streams); a file named .gz that is not gzip is one clear usage error.
 * Real CLI processes against the emulator over loopback.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/emulator/index.js';
import { batchJsonl, emuEnv, emulator, readLines, runCli, tempDir } from './cli.helpers.js';

let emu: RunningEmulator;
let dir: string;
beforeAll(async () => {
  emu = await emulator();
  dir = tempDir();
});
afterAll(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

const run = (input: string, out: string, extra: string[] = []) =>
  runCli(['run', input, '-m', 'gemini-2.5-flash', '-o', out, '--poll-interval', '20', '--quiet', ...extra], { env: emuEnv(emu) });

describe('gzip INPUT', () => {
  it('reads a .jsonl.gz through gunzip: one result per line, in order', async () => {
    const input = join(dir, 'in.jsonl.gz');
    writeFileSync(input, gzipSync(batchJsonl(300)));
    const out = join(dir, 'jsonl.out.jsonl');
    const r = await run(input, out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = readLines(out);
    expect(lines.map((l) => l.key)).toEqual(Array.from({ length: 300 }, (_, i) => `k${i}`));
    expect(lines.every((l) => l.response)).toBe(true);
  });

  it('reads a .json.gz JSON array with --prompt-field', async () => {
    const input = join(dir, 'in.json.gz');
    writeFileSync(input, gzipSync(JSON.stringify([{ id: 'a', text: 'hi' }, { id: 'b', text: 'there' }])));
    const out = join(dir, 'json.out.jsonl');
    const r = await run(input, out, ['--prompt-field', 'text', '--key-field', 'id']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readLines(out).map((l) => l.key)).toEqual(['a', 'b']);
  });

  it('a .gz that is not gzip is one usage error naming the file, no stack', async () => {
    const input = join(dir, 'plain.jsonl.gz');
    writeFileSync(input, batchJsonl(3));
    const r = await run(input, join(dir, 'bad.out.jsonl'));
    expect(r.stderr).toMatch(/cannot read INPUT .*plain\.jsonl\.gz: not valid gzip data/);
    expect(r.stderr).not.toContain('    at ');
    expect(r.code).toBe(2);
  });
});
