/** `run --dry-run` as a user meets it: a real process, the emulator on 127.0.0.1, files on disk. */
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/emulator/index.js';
import { emuEnv, emulator, runCli, tempDir } from './cli.helpers.js';

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

function input(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) {
    const text = `Question ${i}: ${'what does the report say about growth in the region '.repeat(2 + (i % 5))}`;
    s += `${JSON.stringify({ key: `q${i}`, request: { contents: [{ parts: [{ text }] }], generationConfig: { maxOutputTokens: 64 } } })}\n`;
  }
  return s;
}

describe('gemini-batch run --dry-run', () => {
  it('--json prints the plan as one JSON object; no OUT, no state dir, nothing sent', async () => {
    const file = join(dir, 'in.jsonl');
    writeFileSync(file, input(250) + 'not json\n');
    const out = join(dir, 'out.jsonl');
    const before = emu.counters();
    const r = await runCli(['run', file, '-m', 'gemini-3.7-flash', '-o', out, '--dry-run', '--json', '--max-requests', '100', '--on-invalid', 'emit'], { env: emuEnv(emu) });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    const plan = JSON.parse(lines[0]!) as Record<string, any>;
    expect(Object.keys(plan).sort()).toEqual(
      ['bytes', 'chunkCount', 'chunks', 'chunksNotListed', 'cost', 'fits', 'inputTokens', 'limits', 'model', 'output', 'pricedAs', 'records', 'task'].sort(),
    );
    expect(plan.records).toEqual({ total: 251, valid: 250, invalid: 1 });
    expect(plan.pricedAs).toBe('gemini-3.8-flash');
    expect(plan.chunks.map((c: { requests: number }) => c.requests)).toEqual([100, 100, 50]);
    expect(Object.keys(plan.chunks[0]).sort()).toEqual(['bytes', 'cost', 'estimatedTokens', 'index', 'invalid', 'mode', 'outputTokens', 'problems', 'requests']);
    expect(plan.output).toEqual({ source: 'requests', tokens: 250 * 64, requestsWithoutLimit: 0 });
    expect(plan.cost.low).toBeGreaterThan(0);
    expect(plan.cost.high).toBeGreaterThan(plan.cost.low);
    expect(plan.limits.tier).toBe(1);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((n) => n.startsWith('.gemini-batch'))).toEqual([]);
    expect(emu.counters().requestsByRoute).toEqual(before.requestsByRoute);
  });

  it('--backend vertex plans with Vertex limits (file input only, no token quota) and calls nothing', async () => {
    const file = join(dir, 'vertex.jsonl');
    writeFileSync(file, input(20));
    const r = await runCli(['run', file, '-m', 'gemini-2.5-flash', '-o', join(dir, 'v.out'), '--dry-run', '--backend', 'vertex', '--project', 'p', '--bucket', 'gs://bkt/work'], {
      env: { ...emuEnv(emu), GOOGLE_VERTEX_BASE_URL: 'http://127.0.0.1:9', STORAGE_EMULATOR_HOST: 'http://127.0.0.1:9' },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Vertex AI: no token quota (jobs queue); 1 GB a job, 200,000 requests a batch');
    expect(r.stdout).toMatch(/#0 {2}file /);
  });

  it('prints a readable plan; --count-tokens samples through the service and corrects the estimate', async () => {
    const file = join(dir, 'count.jsonl');
    writeFileSync(file, input(120));
    const before = emu.counters().requestsByRoute.countTokens ?? 0;
    const r = await runCli(['run', file, '-m', 'gemini-2.5-flash', '-o', join(dir, 'c.out'), '--dry-run', '--count-tokens', '30', '--tier', '2'], { env: emuEnv(emu) });
    expect(r.code).toBe(0);
    expect(emu.counters().requestsByRoute.countTokens! - before).toBe(30);
    expect(emu.counters().batchesCreated).toBe(0);
    expect(r.stdout).toMatch(/^gemini-batch: dry run \(nothing uploaded, created or paid\)/);
    expect(r.stdout).toMatch(/records\s+120 \(120 valid, 0 invalid\)/);
    expect(r.stdout).toMatch(/corrected by countTokens on 30 requests \(0\.\d+ tokens a byte\)/);
    expect(r.stdout).toMatch(/cost\s+\$[\d.]+ to \$[\d.]+ at batch price/);
    expect(r.stdout).toMatch(/with the corrected input/);
    expect(r.stdout).toMatch(/tier 2: 270,000,000 enqueued tokens per model/);
  });

  it('an unknown model is priced unknown, not $0, until --prices gives it one; plan flags need --dry-run', async () => {
    const file = join(dir, 'argon.jsonl');
    writeFileSync(file, input(10));
    const r = await runCli(['run', file, '-m', 'gemini-4-argon', '-o', join(dir, 'a.out'), '--dry-run'], { env: emuEnv(emu) });
    expect(r.stdout).toMatch(/cost\s+unknown: no price for gemini-4-argon \(give one with --prices FILE\)/);
    const prices = join(dir, 'prices.json');
    writeFileSync(prices, JSON.stringify({ 'gemini-4-argon': { input: 2, output: 10 } }));
    const priced = await runCli(['run', file, '-m', 'gemini-4-argon', '-o', join(dir, 'a.out'), '--dry-run', '--json', '--prices', prices], { env: emuEnv(emu) });
    const plan = JSON.parse(priced.stdout) as { cost: { high: number }; inputTokens: { estimated: number } };
    expect(plan.cost.high).toBeCloseTo((plan.inputTokens.estimated * 2 + 10 * 64 * 10) / 1e6, 10);
    const misuse = await runCli(['run', file, '-m', 'gemini-2.5-flash', '-o', join(dir, 'a.out'), '--count-tokens', '5'], { env: emuEnv(emu) });
    expect(misuse.code).toBe(2);
    expect(misuse.stderr).toContain('--count-tokens is a --dry-run flag');
  });
});
