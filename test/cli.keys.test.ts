/**
 * Keys never lie (issue 21, item 5), through the CLI as a real process: with
 * --on-invalid emit, every error line carries its record's own key when it
 * can be read (--key-field, or the line's "key"), else null with the line
 * number in its message; never another record's key, never one key twice.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/emulator/index.js';
import { emuEnv, emulator, readLines, runCli, tempDir } from './cli.helpers.js';

let emu: RunningEmulator;
let dir: string;
const flags = ['-m', 'gemini-2.5-flash', '--mode', 'file', '--poll-interval', '20', '--on-invalid', 'emit', '--quiet'];

beforeAll(async () => {
  emu = await emulator();
  dir = tempDir('gb-keys-');
});
afterAll(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

type Line = { key: unknown; response?: unknown; error?: { status: string; message: string } };

describe('gemini-batch run --on-invalid emit: keys never lie', () => {
  it('--key-field: bad records keep their own ids; a record without the field is invalid, keyed null, its line named', async () => {
    const records = [
      { id: 1, text: 'one' },
      { id: 2, text: 'two' },
      { id: 3 }, // no text
      { id: 4, text: 44 }, // text not a string
      { text: 'five, but no id' }, // no key field: invalid, not keyed by its number
      { id: 6, text: 'six' },
      { id: 7, text: 'seven' },
    ];
    const input = join(dir, 'reviews.jsonl');
    writeFileSync(input, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const out = join(dir, 'reviews.out.jsonl');
    const r = await runCli(['run', input, '-o', out, ...flags, '--prompt-field', 'text', '--key-field', 'id'], { env: emuEnv(emu) });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = readLines(out) as Line[];
    expect(lines.map((l) => [l.key, l.error ? 'error' : 'ok'])).toEqual([
      ['1', 'ok'],
      ['2', 'ok'],
      ['3', 'error'],
      ['4', 'error'],
      [null, 'error'],
      ['6', 'ok'],
      ['7', 'ok'],
    ]);
    expect(lines[4]!.error!.message).toMatch(/^line 5: .*has no "id" field/);
    expect(lines[2]!.error!.message).toMatch(/^line 3 \(key "3"\)/);
  }, 60_000);

  it('plain JSONL: a garbled line keeps the key its head names, one with none is keyed null; no key appears twice', async () => {
    const req = (t: string) => ({ contents: [{ role: 'user', parts: [{ text: t }] }] });
    const text = [
      JSON.stringify({ key: '0', request: req('zero') }),
      JSON.stringify({ key: '1', request: req('one') }),
      '{"key":"2","request":{"contents":[', // cut after its key
      'not json at all', // line 4, seq 3: its number is another record's key below
      JSON.stringify({ key: '3', request: req('three') }),
      JSON.stringify({ key: '4', request: { contents: 'not a list' } }), // parsed, bad request: its key
    ].join('\n') + '\n';
    const input = join(dir, 'plain.jsonl');
    writeFileSync(input, text);
    const out = join(dir, 'plain.out.jsonl');
    const r = await runCli(['run', input, '-o', out, ...flags], { env: emuEnv(emu) });
    expect(r.code).toBe(0);
    const lines = readLines(out) as Line[];
    expect(lines.map((l) => [l.key, l.error ? 'error' : 'ok'])).toEqual([
      ['0', 'ok'],
      ['1', 'ok'],
      ['2', 'error'],
      [null, 'error'],
      ['3', 'ok'],
      ['4', 'error'],
    ]);
    expect(lines[3]!.error!.message).toMatch(/^line 4: not valid JSON/);
    const keys = lines.map((l) => l.key).filter((k) => k !== null);
    expect(new Set(keys).size).toBe(keys.length);
  }, 60_000);
});
