/**
 * The backend seam (src/backend/types.ts) carries the whole pipeline: a
 * service written for the tests, in memory and in under 150 lines
 * (helpers/memory-backend.ts), runs records end to end through geminiBatch
 * with every guarantee (one result per record, in order, by key never by
 * position; a lost create answer adopted, never created twice; a resume
 * that pays nothing again), and the stages import no backend folder.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { geminiBatch } from '../src/index.js';
import { memoryBackend } from './helpers/memory-backend.js';
import { collect, records, responseText, textRecord } from './helpers/records.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gb-seam-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const reversed = (s: string) => [...s].reverse().join('');

describe('a backend of its own behind the seam', () => {
  it('runs 50 records in 8 jobs: one result each, in input order, matched by key (results come back reversed)', async () => {
    const backend = memoryBackend({ maxRequestsPerJob: 7 });
    const input = records(50);
    input[9] = textRecord('k3', 'a duplicate key'); // keys are the user's: seq keeps them apart
    const out = await collect(input, geminiBatch({ model: 'gemini-2.5-flash', pollInterval: { initialMs: 1, maxMs: 2 } }, { backend }));
    expect(out.map((r) => r.key)).toEqual(input.map((r) => String(r.key)));
    out.forEach((r, i) => {
      const text = (input[i]!.request as { contents: Array<{ parts: Array<{ text: string }> }> }).contents[0]!.parts[0]!.text;
      expect(responseText(r)).toBe(reversed(text));
    });
    expect(backend.counts.creates).toBe(8);
    // Inputs are removed once their results are on disk.
    expect(backend.counts.removes).toBe(8);
  });

  it('a create whose answer was lost is found by its name, never created twice', async () => {
    const backend = memoryBackend({ maxRequestsPerJob: 10, loseFirstCreateAnswer: true });
    const out = await collect(records(30), geminiBatch({ model: 'gemini-2.5-flash', pollInterval: { initialMs: 1, maxMs: 2 } }, { backend }));
    expect(out).toHaveLength(30);
    expect(out.every((r) => 'response' in r)).toBe(true);
    expect(backend.counts.creates).toBe(3);
  });

  it('takes no inline input when the backend has none, and refuses mode inline in one sentence', () => {
    expect(() => geminiBatch({ model: 'm', mode: 'inline' }, { backend: memoryBackend() })).toThrow(/the memory backend takes no inline input/);
  });

  it('with a stateDir, a second run over the same records pays nothing again', async () => {
    const backend = memoryBackend({ maxRequestsPerJob: 10 });
    const opts = { model: 'gemini-2.5-flash', stateDir: join(dir, 'state'), completeOnEnd: false, pollInterval: { initialMs: 1, maxMs: 2 } };
    const first = geminiBatch(opts, { backend });
    expect(await collect(records(25), first)).toHaveLength(25);
    expect(backend.counts.creates).toBe(3);
    const again = await collect(records(25), geminiBatch(opts, { backend }));
    expect(again.map((r) => r.key)).toEqual(records(25).map((r) => r.key));
    expect(backend.counts.creates).toBe(3);
    expect(backend.counts.puts).toBe(3);
  });

  it('is under 150 lines', () => {
    expect(readFileSync(new URL('./helpers/memory-backend.ts', import.meta.url), 'utf8').split('\n').length).toBeLessThan(150);
  });
});

describe('options a backend refuses', () => {
  it('store: false is a Developer API field: a backend that is not the Developer API refuses it in one sentence', () => {
    expect(() => geminiBatch({ model: 'gemini-2.5-flash', store: false }, { backend: memoryBackend() })).toThrow(
      /store is a Gemini Developer API option: the memory backend refuses the "store" field/,
    );
  });
});
