/**
 * `--max-cost` (issue 20): the run stops sending when the next batch does not
 * fit, exits 4 saying what was spent and what is left, and the same command
 * with a larger cap sends only the records not sent, ending with OUT exactly
 * as a run without a budget writes it.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/emulator/index.js';
import type { Responder } from '../src/emulator/types.js';
import { emuEnv, emulator, readLines, runCli, tempDir } from './cli.helpers.js';

/** Every answer as long as its request allows (maxOutputTokens) plus the whole thinking budget. */
const longAnswers: Responder = (request) => {
  const gc = (request.generationConfig ?? {}) as { maxOutputTokens?: number; thinkingConfig?: { thinkingBudget?: number } };
  const promptTokenCount = Math.ceil(JSON.stringify(request.contents).length / 4);
  const candidatesTokenCount = gc.maxOutputTokens ?? 5000;
  const thoughtsTokenCount = gc.thinkingConfig?.thinkingBudget ?? 0;
  return {
    response: {
      candidates: [{ content: { role: 'model', parts: [{ text: `answer to ${JSON.stringify(request.contents).length}` }] }, finishReason: 'MAX_TOKENS' }],
      usageMetadata: { promptTokenCount, candidatesTokenCount, thoughtsTokenCount, totalTokenCount: promptTokenCount + candidatesTokenCount + thoughtsTokenCount },
      modelVersion: 'gemini-2.5-flash',
    },
  };
};

function jsonl(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) {
    const request = { contents: [{ role: 'user', parts: [{ text: `question ${i}` }] }], generationConfig: { maxOutputTokens: 1000, thinkingConfig: { thinkingBudget: 500 } } };
    s += `${JSON.stringify({ key: `k${i}`, request })}\n`;
  }
  return s;
}

/** Ten requests at most 1,500 output tokens each at $1.25 per million, plus their input. */
const CHUNK_OUTPUT_USD = 10 * 1500 * 1.25e-6;
const flags = ['-m', 'gemini-2.5-flash', '--mode', 'file', '--max-requests', '10', '--poll-interval', '20', '--adopt-window', '1000', '--json'];

let emu: RunningEmulator;
let dir: string;
beforeAll(async () => {
  emu = await emulator({ responder: longAnswers });
  dir = tempDir('gb-cli-budget-');
});
afterAll(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('gemini-batch run --max-cost', () => {
  it('stops at the cap with exit 4, one line per record, and a larger cap sends only the rest', async () => {
    const input = join(dir, 'in.jsonl');
    writeFileSync(input, jsonl(50));
    const reference = join(dir, 'reference.jsonl');
    expect((await runCli(['run', input, '-o', reference, ...flags, '--state-dir', join(dir, 'ref-state')], { env: emuEnv(emu) })).code).toBe(0);
    const before = { ...emu.counters().createsByDisplayName };

    const out = join(dir, 'out.jsonl');
    const cap = (2.5 * CHUNK_OUTPUT_USD).toFixed(4);
    const first = await runCli(['run', input, '-o', out, ...flags, '--max-cost', cap], { env: emuEnv(emu) });
    expect(first.code, first.stderr).toBe(4);
    expect(first.stderr).toMatch(/budget reached: \$0\.0\d+ spent of \$0\.0469, \$0\.0\d+ left; 30 records from record 21 on were not sent/);
    const lines = readLines(out);
    expect(lines.map((l) => l.key)).toEqual(Array.from({ length: 50 }, (_, i) => `k${i}`));
    expect(lines.slice(0, 20).every((l) => 'response' in l)).toBe(true);
    expect(lines.slice(20).every((l) => (l.error as { status?: string } | undefined)?.status === 'BUDGET_EXCEEDED')).toBe(true);
    const createdFirst = Object.keys(emu.counters().createsByDisplayName).filter((k) => !(k in before));
    expect(createdFirst).toHaveLength(2);
    // --json says what each batch cost as its results land (state COSTED), and they add up to what was spent.
    const events = first.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { event: string; state?: string; cost?: { usd: number; tokens: { candidates: number } } });
    const costed = events.filter((e) => e.event === 'job' && e.state === 'COSTED');
    expect(costed).toHaveLength(2);
    expect(costed.every((e) => e.cost!.usd > 0 && e.cost!.tokens.candidates === 10 * 1000)).toBe(true);
    const spent = Number(/budget reached: \$(\d+\.\d+) spent/.exec(first.stderr)![1]);
    expect(costed.reduce((a, e) => a + e.cost!.usd, 0)).toBeCloseTo(spent, 4);

    const second = await runCli(['run', input, '-o', out, ...flags, '--max-cost', '10'], { env: emuEnv(emu) });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/resuming: 20 results already in .*the budget had stopped at record 21/);
    expect(readFileSync(out).equals(readFileSync(reference))).toBe(true);
    const created = Object.entries(emu.counters().createsByDisplayName).filter(([k]) => !(k in before));
    expect(created).toHaveLength(5);
    expect(created.every(([, n]) => n === 1)).toBe(true);
  });

  it('refuses its companion flags without it, and prompts with no bound on their answers, in one sentence', async () => {
    const input = join(dir, 'plain.jsonl');
    writeFileSync(input, '{"text":"a"}\n');
    const noCap = await runCli(['run', input, '-o', join(dir, 'x.jsonl'), ...flags, '--output-tokens', '100'], { env: emuEnv(emu) });
    expect(noCap.code).toBe(2);
    expect(noCap.stderr).toContain('--output-tokens sets how the budget works, so it needs --max-cost too');
    const unbounded = await runCli(['run', input, '-o', join(dir, 'y.jsonl'), ...flags, '--prompt-field', 'text', '--max-cost', '1'], { env: emuEnv(emu) });
    expect(unbounded.code).toBe(2);
    expect(unbounded.stderr).toMatch(/--max-cost needs a bound on each answer: add .*maxOutputTokens.* to --generation-config, or give --output-tokens/);
  });
});
