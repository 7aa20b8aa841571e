/** geminiBatch() end to end against the emulator over real HTTP. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type RunningEmulator } from '../src/emulator/index.js';
import { geminiBatch } from '../src/index.js';
import type { GeminiBatchOptions } from '../src/options.js';
import { collect, records, responseText, textRecord } from './helpers/records.js';

let emu: RunningEmulator;
let tmp: string;
const base = (): Partial<GeminiBatchOptions> => ({
  baseUrl: emu.url,
  apiKey: 'test-key',
  pollInterval: { initialMs: 20, maxMs: 100 },
  tmpDir: tmp,
});

beforeAll(async () => {
  emu = await startEmulator({ port: 0, pendingMs: 10, runningMs: 20, shuffleResults: true });
  tmp = mkdtempSync(join(tmpdir(), 'gb-e2e-'));
});
afterAll(async () => {
  await emu.close();
  rmSync(tmp, { recursive: true, force: true });
});

function expectEcho(input: ReturnType<typeof records>, out: Awaited<ReturnType<typeof collect>>) {
  expect(out.map((r) => r.key)).toEqual(input.map((r) => String(r.key)));
  out.forEach((r, i) => {
    const text = (input[i]!.request.contents as Array<{ parts: Array<{ text: string }> }>)[0]!.parts[0]!.text;
    expect(responseText(r)).toContain(`echo: ${text.slice(0, 40)}`);
  });
}

describe('geminiBatch end to end', () => {
  it('returns one result per record in input order across many shuffled file chunks', async () => {
    const input = records(500);
    const out = await collect(input, geminiBatch({ model: 'gemini-2.5-flash', mode: 'file', maxRequestsPerBatch: 37, ...base() }));
    expectEcho(input, out);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('cuts chunks on bytes with multi-byte text across every boundary', async () => {
    const input = records(300, (i) => `${'日本語テキスト'.repeat(3 + (i % 5))} ${i}`);
    const out = await collect(input, geminiBatch({ model: 'gemini-2.5-flash', mode: 'file', maxFileBytes: 3000, ...base() }));
    expectEcho(input, out);
  });

  it('sends small inputs inline in auto mode', async () => {
    const before = emu.counters().uploadsStarted;
    const input = records(50);
    const out = await collect(input, geminiBatch({ model: 'gemini-2.5-flash', ...base() }));
    expectEcho(input, out);
    expect(emu.counters().uploadsStarted).toBe(before);
  });

  it('ends cleanly on empty input without creating a job', async () => {
    const before = emu.counters().batchesCreated;
    const out = await collect([], geminiBatch({ model: 'gemini-2.5-flash', ...base() }));
    expect(out).toEqual([]);
    expect(emu.counters().batchesCreated).toBe(before);
  });

  it('handles one record, keyless records and duplicate keys', async () => {
    const one = await collect([textRecord('only', 'hello')], geminiBatch({ model: 'gemini-2.5-flash', ...base() }));
    expect(one.map((r) => r.key)).toEqual(['only']);
    const input = [textRecord(undefined, 'a'), textRecord('dup', 'first'), textRecord('dup', 'second'), textRecord(undefined, 'd')];
    const out = await collect(input, geminiBatch({ model: 'gemini-2.5-flash', mode: 'file', maxRequestsPerBatch: 2, ...base() }));
    expect(out.map((r) => r.key)).toEqual(['0', 'dup', 'dup', '3']);
    expect(responseText(out[1]!)).toContain('echo: first');
    expect(responseText(out[2]!)).toContain('echo: second');
  });

  it('emits embeddings for the embed task', async () => {
    const input = Array.from({ length: 20 }, (_, i) => ({ key: `e${i}`, request: { content: { parts: [{ text: `t${i}` }] }, outputDimensionality: 4 } }));
    const out = await collect(input, geminiBatch({ model: 'gemini-embedding-001', task: 'embed', mode: 'file', maxRequestsPerBatch: 7, ...base() }));
    expect(out.map((r) => r.key)).toEqual(input.map((r) => r.key));
    for (const r of out) {
      expect('embedding' in r && r.embedding.length).toBe(4);
    }
  });
});
