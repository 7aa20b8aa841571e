/** The budget's pure parts: the decision before a chunk's create, an answer's bound, and the journal's cost records. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decideBudget, type BudgetAsk } from '../src/stages/batch-submitter/decide.js';
import { outputBound } from '../src/stages/batch-submitter/budget.js';
import { openJournal, readJournal } from '../src/journal/journal.js';

const ask = (o: Partial<BudgetAsk>): BudgetAsk => ({ maxUsd: 10, spent: 0, reserved: 0, chunkCost: 1, committed: false, stopped: false, warned: false, ...o });

describe('decideBudget', () => {
  it.each([
    ['fits with room', ask({ spent: 2, reserved: 3, chunkCost: 2 }), 'send'],
    ['fits exactly', ask({ spent: 4, reserved: 4, chunkCost: 2 }), 'send'],
    ['spent + reserved + it passes the cap', ask({ spent: 4, reserved: 4, chunkCost: 2.01 }), 'stop'],
    ['a reservation alone keeps it out', ask({ reserved: 9.5 }), 'stop'],
    ['after a stop nothing new goes, even a small one', ask({ chunkCost: 0.01, stopped: true }), 'stop'],
    ['a batch created before a crash is paid for already: it goes', ask({ spent: 9.9, chunkCost: 5, committed: true }), 'send'],
  ])('%s', (_what, a, kind) => {
    expect(decideBudget(a).kind).toBe(kind);
  });

  it('warns once at 80% of the cap, counting what this chunk holds', () => {
    const step = decideBudget(ask({ spent: 6, reserved: 1, chunkCost: 1 }));
    expect(step).toMatchObject({ kind: 'send', warn: expect.stringMatching(/^80% of the budget of \$10\.0000/) });
    expect(decideBudget(ask({ spent: 6, reserved: 1, chunkCost: 1, warned: true }))).toEqual({ kind: 'send' });
    expect(decideBudget(ask({ spent: 6, reserved: 0.9, chunkCost: 1 }))).toEqual({ kind: 'send' });
  });

  it('says what was spent, held and asked for when it stops', () => {
    const step = decideBudget(ask({ spent: 4, reserved: 5, chunkCost: 2 }));
    expect(step.kind === 'stop' && step.message).toBe('not sent: the budget of $10.0000 would be passed ($4.0000 spent, $5.0000 held by batches in flight, this batch up to $2.0000)');
  });
});

describe('outputBound', () => {
  const line = (gc: unknown) => Buffer.from(JSON.stringify({ key: '0:a', request: { contents: [{ parts: [{ text: 'say "maxOutputTokens": 99' }] }], ...(gc ? { generationConfig: gc } : {}) } }));
  it.each([
    ['maxOutputTokens alone', { maxOutputTokens: 800 }, undefined, 800],
    ['plus a thinking budget', { maxOutputTokens: 800, thinkingConfig: { thinkingBudget: 1024 } }, undefined, 1824],
    ['dynamic thinking (-1) adds nothing to a max that bounds it', { maxOutputTokens: 800, thinkingConfig: { thinkingBudget: -1 } }, undefined, 800],
    ['snake_case', { max_output_tokens: 50, thinking_config: { thinking_budget: 10 } }, undefined, 60],
    ['no bound: the assumed length', { temperature: 0 }, 300, 300],
    ['no bound and none assumed', undefined, undefined, undefined],
  ])('%s', (_what, gc, assumed, want) => {
    expect(outputBound(line(gc), assumed)).toBe(want);
  });
});

describe('the journal\'s costs', () => {
  const root = mkdtempSync(join(tmpdir(), 'gb-cost-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('are kept once per batch name across a replay, and the budget stop with them', async () => {
    const j = openJournal(root, { fingerprint: {} });
    const tokens = { prompt: 10, cached: 0, candidates: 20, thoughts: 5 };
    await j.batchCost({ index: 0, batch: 'batches/a', usd: 0.5, tokens });
    // Fetched again after a crash before its results were recorded: the same batch, counted once.
    await j.batchCost({ index: 0, batch: 'batches/a', usd: 0.5, tokens });
    await j.batchCost({ index: 1, batch: 'batches/b', usd: 0.25, tokens });
    await j.budgetStopped(40);
    await j.close();
    const s = readJournal(root)!;
    expect([...s.costs.values()].map((c) => c.usd)).toEqual([0.5, 0.25]);
    expect(s.budgetStopSeq).toBe(40);
  });
});
