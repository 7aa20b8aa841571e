import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BatchBackend } from '../src/backend/types.js';
import { UNMATCHED_INLINE_STATUS, keyInlineResults } from '../src/backends/gemini/inline-keying.js';
import { MAX_EXPIRED_SPLIT_DEPTH, shouldSplitExpired } from '../src/stages/batch-submitter/decide.js';
import { copyFlaggedRequests, cutByTokens, retryableRequests, spoolTokens, unansweredRequests } from '../src/stages/batch-submitter/parts.js';
import { StorageBudget } from '../src/run/storage-budget.js';
import { InFlight } from '../src/run/in-flight.js';
import { putInput, releaseInput } from '../src/run/input.js';
import { serializeRequestLine } from '../src/internal/wire/wire-line.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gb-stage4-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A spool of n request lines, seqs first..first+n-1. */
function spool(n: number, first = 0, text = (i: number) => `prompt ${i}`): string {
  const p = join(dir, `spool-${first}-${n}`);
  const lines = [];
  for (let i = 0; i < n; i++) lines.push(serializeRequestLine(first + i, `k${first + i}`, { contents: [{ parts: [{ text: text(i) }] }] }));
  writeFileSync(p, Buffer.concat(lines));
  return p;
}
const readLines = (p: string) => readFileSync(p, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

describe('unanswered requests (partial output)', () => {
  it('unansweredRequests flags records with no line at all (error lines count as answers)', async () => {
    const results = join(dir, 'results');
    writeFileSync(results, ['{"key":"11:a","response":{}}', '{"key":"13:b","error":{"code":13}}', '{"key":"99:z","response":{}}'].join('\n') + '\n');
    expect([...(await unansweredRequests(results, { firstSeq: 10, count: 5 }))]).toEqual([1, 0, 1, 0, 1]);
    expect([...(await unansweredRequests(join(dir, 'none'), { firstSeq: 0, count: 2 }))]).toEqual([1, 1]);
  });
});

describe('keyInlineResults (inline responses without keys)', () => {
  it('keyed items are copied as they are', async () => {
    const s = spool(2);
    const inline = join(dir, 'inline');
    writeFileSync(inline, '{"key":"1:k1","response":{"r":1}}\n{"key":"0:k0","response":{"r":0}}\n');
    const out = join(dir, 'out');
    const k = await keyInlineResults(inline, s, out);
    expect(k.matched).toBe('keys');
    expect(readLines(out)).toEqual([{ key: '1:k1', response: { r: 1 } }, { key: '0:k0', response: { r: 0 } }]);
  });

  it('all keyless and as many as the requests: matched by position, and it says so', async () => {
    const s = spool(3, 5);
    const inline = join(dir, 'inline');
    writeFileSync(inline, '{"key":null,"response":{"r":5}}\n{"key":null,"error":{"code":13,"message":"x"}}\n{"response":{"r":7}}\n');
    const out = join(dir, 'out');
    writeFileSync(out, '{"key":"0:earlier","response":{}}\n'); // appends, never truncates
    const k = await keyInlineResults(inline, s, out);
    expect(k.matched).toBe('position');
    expect(k.detail).toMatch(/by position/);
    expect(readLines(out)).toEqual([
      { key: '0:earlier', response: {} },
      { key: '5:k5', response: { r: 5 } },
      { key: '6:k6', error: { code: 13, message: 'x' } },
      { key: '7:k7', response: { r: 7 } },
    ]);
  });

  it('keyless with a different count, or mixed: never guesses; the unanswered get an error naming the cause', async () => {
    const s = spool(3);
    const inline = join(dir, 'inline');
    writeFileSync(inline, '{"key":null,"response":{"r":"?"}}\n{"key":"1:k1","response":{"r":1}}\n');
    const out = join(dir, 'out');
    const k = await keyInlineResults(inline, s, out);
    expect(k).toMatchObject({ matched: 'unmatched', items: 2, keyless: 1, unmatchedRequests: 2 });
    const lines = readLines(out);
    expect(lines[0]).toEqual({ key: '1:k1', response: { r: 1 } });
    expect(lines.slice(1).map((l) => l.key)).toEqual(['0:k0', '2:k2']);
    for (const l of lines.slice(1)) {
      const e = l.error as { status: string; message: string };
      expect(e.status).toBe(UNMATCHED_INLINE_STATUS);
      expect(e.message).toMatch(/without a key/);
    }
    const out2 = join(dir, 'out2');
    writeFileSync(inline, '{"key":null,"response":{}}\n{"key":null,"response":{}}\n');
    const k2 = await keyInlineResults(inline, s, out2);
    expect(k2).toMatchObject({ matched: 'unmatched', unmatchedRequests: 3 });
    expect(readLines(out2)).toHaveLength(3);
  });
});

describe('split policy', () => {
  it('EXPIRED splitting stops at the depth floor and at minSplitRequests', () => {
    expect(shouldSplitExpired(64, 0)).toBe(true);
    expect(shouldSplitExpired(64, MAX_EXPIRED_SPLIT_DEPTH)).toBe(false);
    expect(shouldSplitExpired(1, 0)).toBe(false);
    expect(shouldSplitExpired(2, 0)).toBe(true);
    expect(shouldSplitExpired(199, 0, 100)).toBe(false);
    expect(shouldSplitExpired(200, 0, 100)).toBe(true);
    // 64 records: at most 2^depth leaf batches, not 126
    let leaves = 0;
    const walk = (n: number, d: number): unknown => (shouldSplitExpired(n, d) ? (walk(Math.ceil(n / 2), d + 1), walk(Math.floor(n / 2), d + 1)) : leaves++);
    walk(64, 0);
    expect(leaves).toBe(2 ** MAX_EXPIRED_SPLIT_DEPTH);
  });

  it('cutByTokens cuts consecutive parts under the target, every line once, as bytes', async () => {
    const s = spool(50, 0, (i) => 'x'.repeat(10 + i * 7));
    const total = await spoolTokens(s);
    const parts = await cutByTokens(s, Math.ceil(total / 4), join(dir, 'part'));
    expect(parts.length).toBeGreaterThanOrEqual(4);
    expect(parts.reduce((a, p) => a + p.lines, 0)).toBe(50);
    expect(parts.reduce((a, p) => a + p.tokens, 0)).toBe(total);
    for (const p of parts) expect(p.tokens).toBeLessThanOrEqual(Math.ceil(total / 4));
    expect(Buffer.concat(parts.map((p) => readFileSync(p.path)))).toEqual(readFileSync(s));
    // a line over the target goes alone
    const one = await cutByTokens(s, 1, join(dir, 'single'));
    expect(one).toHaveLength(50);
  });
});

describe('storage budget', () => {
  it('waits before an upload that would pass the budget until ours are deleted', async () => {
    const b = new StorageBudget(100);
    await b.acquire('a', 60);
    let second = false;
    const p = b.acquire('b', 50).then(() => (second = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(second).toBe(false);
    b.rename('a', 'files/a');
    b.release('files/a');
    await p;
    expect(b.usedBytes).toBe(50);
    // larger than the whole budget: admitted when nothing else is held
    b.release('b');
    await b.acquire('huge', 500);
    expect(b.usedBytes).toBe(500);
  });
});

describe('partial output', () => {
  it('copyFlaggedRequests with unansweredRequests copies only the requests with no result line yet', async () => {
    const s = spool(6, 100);
    const results = join(dir, 'results');
    writeFileSync(results, '{"key":"101:k101","response":{}}\n{"key":"104:k104","error":{"code":3}}\n');
    const to = join(dir, 'rest');
    expect(await copyFlaggedRequests(s, to, await unansweredRequests(results, { firstSeq: 100, count: 6 }), 100)).toBe(4);
    expect(readLines(to).map((l) => l.key)).toEqual(['100:k100', '102:k102', '103:k103', '105:k105']);
  });

  it('keyInlineResults with no inline file adds nothing', async () => {
    const out = join(dir, 'out');
    expect((await keyInlineResults(join(dir, 'absent'), spool(2), out)).items).toBe(0);
  });
});

describe('putInput (the one way a run puts input on the service)', () => {
  it('holds the bytes under the input name, gives them back on failure, waits when full, and releaseInput frees them', async () => {
    let fail = false;
    let uploads = 0;
    const removed: string[] = [];
    const backend = {
      input: {
        put: async (_path: string, name: string) => (uploads++, fail ? Promise.reject(new Error('cut')) : `files/${name}`),
        remove: async (ref: string) => void removed.push(ref),
      },
    } as unknown as BatchBackend;
    const run = { backend, inFlight: new InFlight(100) };
    expect(await putInput(run, '/spool/a', 70, 'a')).toBe('files/a');
    expect(run.inFlight.files()).toEqual(['files/a']);
    fail = true;
    await expect(putInput(run, '/spool/x', 10, 'x')).rejects.toThrow('cut');
    fail = false;
    expect(run.inFlight.storage.usedBytes).toBe(70);
    const before = uploads;
    const p = putInput(run, '/spool/b', 50, 'b');
    await new Promise((r) => setTimeout(r, 10));
    expect(uploads).toBe(before);
    await releaseInput(run, 'files/a', true);
    expect(await p).toBe('files/b');
    expect(removed).toEqual(['files/a']);
    expect(run.inFlight.storage.usedBytes).toBe(50);
    await releaseInput(run, 'files/b', false);
    expect(run.inFlight.storage.usedBytes).toBe(0);
    expect(removed).toEqual(['files/a']);
  });
});

describe('retryableRequests (retryFailedRequests selection)', () => {
  it('flags gRPC-transient and HTTP-transient errors and records with no line (MISSING_RESULT), never a success', async () => {
    const results = join(dir, 'results');
    writeFileSync(
      results,
      [
        '{"response":{},"key":"0:a"}', // success, key last
        '{"error":{"code":13,"message":"internal"},"key":"1:b"}', // gRPC INTERNAL: transient
        '{"error":{"code":3,"message":"bad"},"key":"2:c"}', // gRPC INVALID_ARGUMENT: not
        '{"key":"3:d","error":{"code":503,"message":"x","status":"UNAVAILABLE"}}', // HTTP 503
        '{"error":{"code":14},"key":"5:f"}',
        '{"response":{},"key":"5:f"}', // a later success wins
      ].join('\n') + '\n',
    );
    // seq 4 has no line at all
    expect([...(await retryableRequests(results, { firstSeq: 0, count: 6 }))]).toEqual([0, 1, 0, 1, 1, 0]);
    expect([...(await retryableRequests(join(dir, 'absent'), { firstSeq: 0, count: 2 }))]).toEqual([1, 1]);
  });
});
