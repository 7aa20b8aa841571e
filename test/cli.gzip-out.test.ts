/**
 * A `.gz` OUT (issue 21): `-o out.jsonl.gz` publishes gzip that gunzip reads
 * with every line in order (OUT.partial stays plain while the run goes); a
 * rerun reads it back through gunzip to know the run finished, resumes from
 * it after a budget stop, and --retry-failed rewrites it, still gzipped.
 * Real CLI processes against the emulator over loopback.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/emulator/index.js';
import type { Responder } from '../src/emulator/types.js';
import { emuEnv, emulator, runCli, tempDir } from './cli.helpers.js';

const failing = new Set<string>();
/** Every answer as long as its request allows (so a budget's reservation is what it costs); prompts in `failing` get INTERNAL. */
const responder: Responder = (request) => {
  const text = (request.contents as Array<{ parts: Array<{ text: string }> }>)[0]!.parts[0]!.text;
  if (failing.has(text)) return { error: { code: 13, message: 'An internal error has occurred.' } };
  const gc = (request.generationConfig ?? {}) as { maxOutputTokens?: number };
  const promptTokenCount = Math.ceil(JSON.stringify(request.contents).length / 4);
  const candidatesTokenCount = gc.maxOutputTokens ?? 50;
  return {
    response: {
      candidates: [{ content: { role: 'model', parts: [{ text: `answer to ${text}` }] }, finishReason: 'MAX_TOKENS' }],
      usageMetadata: { promptTokenCount, candidatesTokenCount, totalTokenCount: promptTokenCount + candidatesTokenCount },
      modelVersion: 'gemini-2.5-flash',
    },
  };
};

function jsonl(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) {
    const request = { contents: [{ role: 'user', parts: [{ text: `question ${i}` }] }], generationConfig: { maxOutputTokens: 1000 } };
    s += `${JSON.stringify({ key: `k${i}`, request })}\n`;
  }
  return s;
}

const N = 50;
const keys = Array.from({ length: N }, (_, i) => `k${i}`);
const flags = ['-m', 'gemini-2.5-flash', '--mode', 'file', '--max-requests', '10', '--poll-interval', '20', '--adopt-window', '1000'];
let emu: RunningEmulator;
let dir: string;
let input: string;
beforeAll(async () => {
  emu = await emulator({ responder });
  dir = tempDir('gb-gzip-out-');
  input = join(dir, 'in.jsonl');
  writeFileSync(input, jsonl(N));
});
afterAll(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

const run = (out: string, extra: string[] = []) => runCli(['run', input, '-o', out, ...flags, ...extra], { env: emuEnv(emu) });
const gunzipLines = (path: string) =>
  gunzipSync(readFileSync(path))
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('a .gz OUT', () => {
  it('is gzip with every line in order, equal to a plain run; a rerun knows it finished', async () => {
    failing.clear();
    const plain = join(dir, 'plain.jsonl');
    expect((await run(plain)).code).toBe(0);
    const out = join(dir, 'out.jsonl.gz');
    const r = await run(out);
    expect(r.code, r.stderr).toBe(0);
    const bytes = readFileSync(out);
    expect([bytes[0], bytes[1]]).toEqual([0x1f, 0x8b]);
    expect(gunzipSync(bytes).equals(readFileSync(plain))).toBe(true);
    expect(gunzipLines(out).map((l) => l.key)).toEqual(keys);
    expect(existsSync(`${out}.partial`)).toBe(false);
    expect(existsSync(`${out}.tmp`)).toBe(false);

    const created = emu.counters().batchesCreated;
    const again = await run(out);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/nothing to do: run \S+ already wrote all 50 results/);
    expect(emu.counters().batchesCreated).toBe(created);
    expect(readFileSync(out).equals(bytes)).toBe(true);
  });

  it('--retry-failed resends its retryable errors and writes it gzipped again', async () => {
    const out = join(dir, 'retry.jsonl.gz');
    failing.clear();
    for (const i of [3, 21, 44]) failing.add(`question ${i}`);
    expect((await run(out)).code).toBe(0);
    expect(gunzipLines(out).filter((l) => l.error)).toHaveLength(3);
    failing.clear();
    const created = emu.counters().batchesCreated;
    const r = await run(out, ['--retry-failed', '1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('resent 3 records: 3 now answered, 0 still failing');
    expect(emu.counters().batchesCreated).toBe(created + 1);
    const lines = gunzipLines(out);
    expect(lines.map((l) => l.key)).toEqual(keys);
    expect(lines.every((l) => l.response)).toBe(true);
    // Rewritten and still the run's own: a plain rerun has nothing to do, a resend nothing to resend.
    expect((await run(out)).stderr).toMatch(/nothing to do/);
    expect((await run(out, ['--retry-failed', '1'])).stderr).toContain('nothing to resend');
  });

  it('after a budget stop the same command with a larger cap resumes from it', async () => {
    failing.clear();
    const reference = join(dir, 'budget-ref.jsonl');
    expect((await run(reference, ['--state-dir', join(dir, 'ref-state')])).code).toBe(0);
    const out = join(dir, 'budget.jsonl.gz');
    // About two and a half batches of ten at 1,000 output tokens each ($1.25 per million at batch price).
    const first = await run(out, ['--max-cost', '0.0313']);
    expect(first.code, first.stderr).toBe(4);
    const stopped = gunzipLines(out);
    expect(stopped.map((l) => l.key)).toEqual(keys);
    expect(stopped.some((l) => (l.error as { status?: string } | undefined)?.status === 'BUDGET_EXCEEDED')).toBe(true);
    const second = await run(out, ['--max-cost', '10']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/resuming: \d+ results already in/);
    expect(gunzipSync(readFileSync(out)).equals(readFileSync(reference))).toBe(true);
  });

  it('a .gz OUT that is not gzip any more is one usage error, no stack', async () => {
    failing.clear();
    const out = join(dir, 'broken.jsonl.gz');
    expect((await run(out)).code).toBe(0);
    writeFileSync(out, '{"key":"k0"}\n');
    const r = await run(out);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot read OUT .*broken\.jsonl\.gz: not valid gzip data/);
    expect(r.stderr).not.toContain('    at ');
  });
});
