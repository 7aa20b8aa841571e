/**
 * A budget on the emulator (issue 20, item 2): long answers and thinking
 * tokens never take a run past maxUsd, every record gets exactly one line in
 * order (BUDGET_EXCEEDED for those not sent), and the same state dir with a
 * larger cap sends only what was not sent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type RunningEmulator } from '../src/emulator/index.js';
import type { Responder } from '../src/emulator/types.js';
import { geminiBatch, type GeminiBatchStream } from '../src/index.js';
import { readJournal } from '../src/journal/journal.js';
import type { BatchRecord, JobEvent, KeyedResult } from '../src/types.js';
import { collect } from './helpers/records.js';

/** Batch price of gemini-2.5-flash's output per token (PROTOCOL.md). */
const OUT = 1.25e-6;

/** Answers as long as each request allows: every output token and the whole thinking budget used. */
const longAnswers: Responder = (request) => {
  const gc = (request.generationConfig ?? {}) as { maxOutputTokens?: number; thinkingConfig?: { thinkingBudget?: number } };
  const text = JSON.stringify(request.contents);
  const promptTokenCount = Math.ceil(text.length / 4);
  const candidatesTokenCount = gc.maxOutputTokens ?? 3000;
  const thoughtsTokenCount = gc.thinkingConfig?.thinkingBudget ?? 0;
  return {
    response: {
      candidates: [{ content: { role: 'model', parts: [{ text: 'x'.repeat(candidatesTokenCount * 4) }] }, finishReason: 'MAX_TOKENS' }],
      usageMetadata: { promptTokenCount, candidatesTokenCount, thoughtsTokenCount, totalTokenCount: promptTokenCount + candidatesTokenCount + thoughtsTokenCount },
      modelVersion: 'gemini-2.5-flash',
    },
  };
};

function rec(i: number, generationConfig: Record<string, unknown> | undefined): BatchRecord {
  return { key: `k${i}`, request: { contents: [{ role: 'user', parts: [{ text: `question ${i}` }] }], ...(generationConfig ? { generationConfig } : {}) } };
}
const bounded = { maxOutputTokens: 1000, thinkingConfig: { thinkingBudget: 500 } };
const inputs = (n: number, gc: Record<string, unknown> | undefined = bounded) => Array.from({ length: n }, (_, i) => rec(i, gc));

/** What one chunk of 10 such requests may cost at most: 1,500 output tokens each, plus their input. */
const CHUNK_OUTPUT_USD = 10 * 1500 * OUT;

let emu: RunningEmulator;
let root: string;
beforeAll(async () => {
  emu = await startEmulator({ port: 0, pendingMs: 5, runningMs: 30, responder: longAnswers });
  root = mkdtempSync(join(tmpdir(), 'gb-budget-'));
});
afterAll(async () => {
  await emu.close();
  rmSync(root, { recursive: true, force: true });
});

const opts = (stateDir: string, maxUsd: number, extra: { outputTokens?: number; onExceed?: 'stop' | 'cancel' } = {}) => ({
  model: 'gemini-2.5-flash',
  apiKey: 'k',
  baseUrl: emu.url,
  mode: 'file' as const,
  maxRequestsPerBatch: 10,
  pollInterval: { initialMs: 5, maxMs: 20 },
  stateDir,
  budget: { maxUsd, ...extra },
});

function createsSince(before: Record<string, number>): Record<string, number> {
  const now = emu.counters().createsByDisplayName;
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(now)) if (v !== (before[k] ?? 0)) out[k] = v - (before[k] ?? 0);
  return out;
}

async function run(records: BatchRecord[], options: ReturnType<typeof opts>): Promise<{ out: KeyedResult[]; stream: GeminiBatchStream; events: JobEvent[] }> {
  const stream = geminiBatch(options);
  const events: JobEvent[] = [];
  stream.on('job', (e: JobEvent) => events.push(e));
  const out = await collect(records, stream);
  return { out, stream, events };
}

describe('a budget', () => {
  it('is never passed with answers at their longest; the rest get BUDGET_EXCEEDED in order, and a larger cap sends only them', async () => {
    const stateDir = join(root, 'stop');
    const before = { ...emu.counters().createsByDisplayName };
    // Room for two chunks of ten, not three.
    const cap = 2.5 * CHUNK_OUTPUT_USD;
    const first = await run(inputs(60), opts(stateDir, cap));
    expect(first.out.map((r) => r.key)).toEqual(inputs(60).map((r) => r.key));
    const sent = first.out.filter((r) => 'response' in r);
    const refused = first.out.filter((r) => 'error' in r && r.error.status === 'BUDGET_EXCEEDED');
    expect(sent.length + refused.length).toBe(60);
    expect(sent).toHaveLength(20);
    expect(first.out.slice(20).every((r) => 'error' in r && r.error.status === 'BUDGET_EXCEEDED' && r.error.code === 402)).toBe(true);
    const report = first.stream.spending()!;
    expect(report.stoppedAtSeq).toBe(20);
    expect(report.spentUsd).toBeGreaterThan(2 * CHUNK_OUTPUT_USD);
    expect(report.spentUsd).toBeLessThanOrEqual(cap);
    expect(Object.values(createsSince(before)).reduce((a, b) => a + b, 0)).toBe(2);
    // Warned once at 80%, told once that sending stopped.
    const budgetEvents = first.events.filter((e) => e.state === 'BUDGET');
    expect(budgetEvents.filter((e) => /% of the budget/.test(e.detail ?? ''))).toHaveLength(1);
    expect(budgetEvents.filter((e) => /no more batches are sent/.test(e.detail ?? ''))).toHaveLength(1);
    // The real cost is journaled once per batch, and the run is not complete: a rerun sends the rest.
    const j = readJournal(stateDir)!;
    expect(j.completed).toBe(false);
    expect(j.costs.size).toBe(2);
    expect([...j.costs.values()].reduce((a, c) => a + c.usd, 0)).toBeCloseTo(report.spentUsd, 10);
    expect([...j.costs.values()].every((c) => c.tokens.thoughts === 10 * 500 && c.tokens.candidates === 10 * 1000)).toBe(true);

    const middle = { ...emu.counters().createsByDisplayName };
    const second = await run(inputs(60), opts(stateDir, 100));
    expect(second.out.map((r) => r.key)).toEqual(inputs(60).map((r) => r.key));
    expect(second.out.every((r) => 'response' in r)).toBe(true);
    const again = createsSince(middle);
    // Four chunks sent, each once; none of the first two again.
    expect(Object.keys(again)).toHaveLength(4);
    expect(Object.values(again).every((n) => n === 1)).toBe(true);
    for (const name of Object.keys(createsSince(before)).filter((n) => !(n in again))) expect(emu.counters().createsByDisplayName[name]).toBe((before[name] ?? 0) + 1);
    const total = second.stream.spending()!;
    expect(total.stoppedAtSeq).toBeUndefined();
    // The whole run's cost, the first session's included.
    expect(total.spentUsd).toBeCloseTo(3 * report.spentUsd, 6);
    const done = readJournal(stateDir)!;
    expect(done.completed).toBe(true);
    // Where the budget stopped is history once every record was sent.
    expect(done.budgetStopSeq).toBeUndefined();
  });

  it('uploads nothing more once sending stopped: chunks that reach stage 3 after the stop stay on this machine', async () => {
    const uploadsBefore = emu.counters().uploadsStarted;
    const { out } = await run(inputs(300), opts(join(root, 'no-upload'), 2.5 * CHUNK_OUTPUT_USD));
    expect(out).toHaveLength(300);
    expect(out.slice(20).every((r) => 'error' in r && r.error.status === 'BUDGET_EXCEEDED')).toBe(true);
    // 30 chunks; two were sent, and only those stage 3 had already started before the stop went up.
    expect(emu.counters().uploadsStarted - uploadsBefore).toBeLessThan(12);
  });

  it('with onExceed cancel, cancels the batches in flight and their records get BUDGET_EXCEEDED too; a rerun sends them again', async () => {
    const slow = await startEmulator({ port: 0, pendingMs: 5, runningMs: 400, responder: longAnswers });
    try {
      const stateDir = join(root, 'cancel');
      const o = { ...opts(stateDir, 2.5 * CHUNK_OUTPUT_USD, { onExceed: 'cancel' }), baseUrl: slow.url };
      const first = await run(inputs(40), o);
      expect(first.out.map((r) => r.key)).toEqual(inputs(40).map((r) => r.key));
      expect(first.out.every((r) => 'error' in r && r.error.status === 'BUDGET_EXCEEDED')).toBe(true);
      expect(first.stream.spending()!.stoppedAtSeq).toBe(0);
      expect(slow.counters().requestsByRoute.cancel ?? 0).toBeGreaterThanOrEqual(2);
      const second = await run(inputs(40), { ...o, budget: { maxUsd: 100, onExceed: 'cancel' } });
      expect(second.out.every((r) => 'response' in r)).toBe(true);
      expect(readJournal(stateDir)!.completed).toBe(true);
    } finally {
      await slow.close();
    }
  });

  it('refuses, naming the record, a request whose answer has no bound; budget.outputTokens gives it one', async () => {
    const recs = [...inputs(3), rec(3, undefined)];
    await expect(run(recs, opts(join(root, 'unbounded'), 10))).rejects.toThrow(/record "k3".*maxOutputTokens.*outputTokens/);
    const ok = await run(recs, opts(join(root, 'assumed'), 10, { outputTokens: 3000 }));
    expect(ok.out.every((r) => 'response' in r)).toBe(true);
  });

  it('refuses a model with no known price at once', () => {
    expect(() => geminiBatch({ ...opts(join(root, 'noprice'), 1), model: 'gemini-4-argon' })).toThrow(/budget needs a price for the model gemini-4-argon/);
  });
});
