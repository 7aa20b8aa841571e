/** The run's cost: each response priced by the model that answered, read from its bytes; the summary line says it. */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSummary, formatSummary } from '../src/cli/summary.js';
import { createGeminiClient } from '../src/backends/gemini/client.js';
import { promptTokens, type RunningEmulator } from '../src/emulator/index.js';
import { ProgressCounters } from '../src/progress.js';
import { readUsage, usageFromResponse } from '../src/internal/wire/usage.js';
import { emuEnv, emulator, KEY, runCli, tempDir } from './cli.helpers.js';

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

describe('modelVersion', () => {
  it('is read with the usage, from the bytes and from an object, only at the top of the response', () => {
    const line = Buffer.from(
      '{"response": {"candidates": [{"modelVersion": "not-this"}], "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 2}, "modelVersion" : "gemini-3-flash-preview@default"}, "key": "0:a"}',
    );
    expect(readUsage(line)).toMatchObject({ prompt: 5, candidates: 2, modelVersion: 'gemini-3-flash-preview@default' });
    expect(readUsage(Buffer.from('{"response": {"usageMetadata": {"promptTokenCount": 5}}, "key": "0:a"}'))?.modelVersion).toBeUndefined();
    expect(usageFromResponse({ usageMetadata: { promptTokenCount: 1 }, modelVersion: 'gemini-3.6-flash' })?.modelVersion).toBe('gemini-3.6-flash');
  });
});

describe('the summary', () => {
  const base = { resumed: 0, batches: 1, wallMs: 1000, output: 'out.jsonl' };
  it('prices each response by the model that answered, and says unknown (not $0) for a model with no price', () => {
    const p = new ProgressCounters();
    const u = (prompt: number, modelVersion?: string) => ({ prompt, candidates: 0, thoughts: 0, cached: 0, total: prompt, promptDetails: [], ...(modelVersion ? { modelVersion } : {}) });
    p.onUsage(u(1_000_000, 'gemini-3.6-flash'));
    p.onUsage(u(1_000_000));
    const s = buildSummary({ ...base, model: 'gemini-3.5-flash', progress: p.snapshot() });
    expect(s.estimatedCostUsd).toBeCloseTo(1.5, 10);
    expect(formatSummary(s)).toMatch(/cost\s+~\$1\.50 at batch price \(gemini-3\.6-flash\)/);
    p.onUsage(u(1_000_000, 'gemini-4-argon'));
    const mixed = buildSummary({ ...base, model: 'gemini-3.5-flash', progress: p.snapshot() });
    expect(mixed.estimatedCostUsd).toBeUndefined();
    expect(formatSummary(mixed)).toMatch(/cost\s+unknown: no price for gemini-4-argon \(give one with --prices FILE\); ~\$1\.50 for gemini-3\.6-flash/);
    const priced = buildSummary({ ...base, model: 'gemini-3.5-flash', progress: p.snapshot(), prices: { 'gemini-4-argon': { input: 1, output: 1 } } });
    expect(formatSummary(priced)).toMatch(/~\$2\.50 at batch price \(gemini-3\.6-flash \$1\.50, gemini-4-argon \$1\.00\)/);
  });

  it('a run of a routed model is priced as what it routes to', async () => {
    const file = join(dir, 'in.jsonl');
    writeFileSync(file, `${JSON.stringify({ key: 'a', request: { contents: [{ parts: [{ text: 'hello there' }] }] } })}\n`);
    const r = await runCli(['run', file, '-m', 'gemini-3.7-flash', '-o', join(dir, 'out.jsonl'), '--poll-interval', '20'], { env: emuEnv(emu) });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/cost\s+~<?\$[\d.]+ at batch price \(gemini-3\.8-flash\)/);
  });
});

describe('countTokens', () => {
  it('the client asks the service; the emulator counts as its answers do', async () => {
    const client = createGeminiClient({ baseUrl: emu.url, apiKey: KEY });
    try {
      const request = { contents: [{ parts: [{ text: 'How many tokens is this? 東京' }] }], systemInstruction: { parts: [{ text: 'Be short.' }] } };
      const { totalTokens } = await client.models.countTokens('gemini-2.5-flash', request);
      expect(totalTokens).toBe(promptTokens('generate', request));
      expect(emu.counters().requestsByRoute.countTokens).toBeGreaterThanOrEqual(1);
      await expect(client.models.countTokens('gemini-2.5-flash', { ...request, thinking_config: {} })).rejects.toThrow(/Unknown name "thinking_config"/);
    } finally {
      await client.close();
    }
  });
});
