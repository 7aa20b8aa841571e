/**
 * `gemini-batch run` against an emulator with the real service's reported
 * quirks on (issue 10 item 3, the CLI side of test/stage4.quirks.test.ts):
 * every record still gets exactly one result line, in input order, under its
 * own key; no displayName is created twice; the documented exit code; no hang.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EmulatorOptions, RunningEmulator } from '../src/emulator/index.js';
import { emuEnv, emulator, readLines, runCli, tempDir } from './cli.helpers.js';

const MODEL = 'gemini-2.5-flash';
let emu: RunningEmulator | undefined;
let dir: string | undefined;
afterEach(async () => {
  await emu?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  emu = undefined;
  dir = undefined;
});

async function setup(knobs: EmulatorOptions): Promise<{ emu: RunningEmulator; dir: string }> {
  emu = await emulator(knobs);
  dir = tempDir('gb-cli-quirks-');
  return { emu, dir };
}

type Line = { key: string; response?: { candidates?: Array<{ content?: { parts?: Array<{ text?: string }> } }> }; error?: { code?: number; status?: string; message?: string } };

const text = (l: Line) => l.response?.candidates?.[0]?.content?.parts?.[0]?.text;
const createdOnce = (e: RunningEmulator) => Object.values(e.counters().createsByDisplayName).every((n) => n === 1);
const noStack = (stderr: string) => expect(stderr).not.toMatch(/^\s+at /m);

function writeInput(d: string, name: string, prompts: (i: number) => string, n: number): string {
  const p = join(d, name);
  let s = '';
  for (let i = 0; i < n; i++) s += `${JSON.stringify({ key: `k${i}`, request: { contents: [{ role: 'user', parts: [{ text: prompts(i) }] }] } })}\n`;
  writeFileSync(p, s);
  return p;
}

/** Every record: one line, in input order, its own key and its own answer (the default responder echoes the prompt's start). */
function expectOneLineEach(lines: Line[], n: number, prefix = (i: number) => `prompt ${i} `): void {
  expect(lines.map((l) => l.key)).toEqual(Array.from({ length: n }, (_, i) => `k${i}`));
  lines.forEach((l, i) => {
    if (l.response) expect(text(l)).toContain(prefix(i));
  });
}

describe('gemini-batch run with the service quirks on', () => {
  // ~1,100 (inline: 17 MB in all) or ~1,500 (over 20 MB: files) tokens a record by the service's count:
  // 4,000 records are over the quota as one batch either way. Default options but the poll interval,
  // and the emulator's default RetryInfo delay (23 s): the run must not sit out 429s while its own batches run.
  it.each([
    ['inline', 160],
    ['file', 220],
  ] as const)('a default run on a Tier-1 project (2.5 Flash: 3,000,000 enqueued tokens) completes: 4,000 records, %s batches', async (mode, repeat) => {
    const { emu, dir } = await setup({ enqueuedTokenLimit: 'tier1' });
    const n = 4_000;
    const input = writeInput(dir, 'tier1.jsonl', (i) => `prompt ${i} ${'lorem ipsum dolor sit amet '.repeat(repeat)}`, n);
    const out = join(dir, 'tier1.results.jsonl');
    const r = await runCli(['run', input, '-m', MODEL, '-o', out, '--poll-interval', '20'], { env: emuEnv(emu) });
    noStack(r.stderr);
    expect(r.code).toBe(0);
    const lines = readLines(out) as Line[];
    expectOneLineEach(lines, n);
    expect(lines.filter((l) => l.error)).toEqual([]);
    expect(createdOnce(emu)).toBe(true);
    expect(emu.counters().batchesCreated).toBeGreaterThan(1);
    if (mode === 'inline') expect(emu.counters().uploadsFinalized).toBe(0);
    else expect(emu.counters().uploadsFinalized).toBeGreaterThan(1);
    // Before the summary at most a note that the first batch was split to fit the quota; the summary: all ok, nothing redone.
    const [notes, summary] = r.stderr.split(/(?=gemini-batch: done in )/);
    for (const note of notes!.trim().split('\n').filter(Boolean)) expect(note).toMatch(/^gemini-batch: batch \(chunk \d+\) resubmitting: over the enqueued-token quota of 3000000 tokens: split into \d+ batches$/);
    expect(summary).toMatch(/results\s+4,000 ok, 0 errors\n/);
    expect(summary).toMatch(/records\s+4,000\n/);
    expect(summary).not.toMatch(/redone|lost|warn|quota|expire/i);
  }, 90_000);

  it('no Batch access (a limit of 0) fails at once: exit 1, one sentence naming the quota and the model, no partial output', async () => {
    const { emu, dir } = await setup({ enqueuedTokenLimit: 0, quotaRetryDelaySeconds: 0.2 });
    const input = writeInput(dir, 'none.jsonl', (i) => `prompt ${i} hello`, 20);
    const out = join(dir, 'none.results.jsonl');
    const started = Date.now();
    const r = await runCli(['run', input, '-m', MODEL, '-o', out, '--poll-interval', '20'], { env: emuEnv(emu) });
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(r.code).toBe(1);
    noStack(r.stderr);
    const message = r.stderr.trim();
    expect(message.split('\n')).toHaveLength(1);
    expect(message).toMatch(/quota/i);
    expect(message).toContain('no Gemini Batch access');
    expect(message).toContain(MODEL);
    expect(message).toContain('enable billing');
    expect(emu.counters().batchesCreated).toBe(0);
    // OUT holds no result lines (absent, or empty).
    if (existsSync(out)) expect(readFileSync(out, 'utf8')).toBe('');
  }, 30_000);
});
