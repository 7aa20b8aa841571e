/**
 * The demuxer's core as a property: whatever the service does to a results
 * file (any order, lines twice, lines missing, an error then a success for
 * the same key), every record of the chunk gets exactly one result, in seq
 * order, with its own key and its best answer.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JobResults } from '../src/stages/result-demuxer/job-results.js';
import { serializeRequestLine, wireKey } from '../src/internal/wire/wire-line.js';
import type { Chunk, KeyedResult } from '../src/types.js';

const dir = mkdtempSync(join(tmpdir(), 'gb-demux-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

type Fate = 'ok' | 'error' | 'error-then-ok' | 'twice' | 'missing' | 'invalid';

const answer = (seq: number) => ({ candidates: [{ content: { parts: [{ text: `answer ${seq} ✓` }] } }], usageMetadata: { promptTokenCount: 1, candidatesTokenCount: 2, totalTokenCount: 3 } });
const errorLine = (seq: number, key: string) => JSON.stringify({ key: wireKey(seq, key), error: { code: 500, message: `failed ${seq}`, status: 'INTERNAL' } });
const okLine = (seq: number, key: string) => JSON.stringify({ key: wireKey(seq, key), response: answer(seq) });

function build(fates: Fate[], keys: string[], order: number[], firstSeq: number) {
  const id = n++;
  const spoolPath = join(dir, `spool-${id}.jsonl`);
  const resultsPath = join(dir, `results-${id}.jsonl`);
  const spool: Buffer[] = [];
  const invalid: Chunk['invalid'] = [];
  const results: string[] = [];
  fates.forEach((fate, i) => {
    const seq = firstSeq + i;
    const key = keys[i]!;
    if (fate === 'invalid') {
      invalid.push({ seq, key, error: { code: 400, status: 'INVALID_RECORD', message: 'bad' } });
      return;
    }
    spool.push(serializeRequestLine(seq, key, { contents: [{ parts: [{ text: String(seq) }] }] }));
    if (fate === 'ok') results.push(okLine(seq, key));
    if (fate === 'error') results.push(errorLine(seq, key));
    if (fate === 'error-then-ok') results.push(errorLine(seq, key), okLine(seq, key));
    if (fate === 'twice') results.push(okLine(seq, key), okLine(seq, key));
  });
  // Any order: sort the lines by drawn weights.
  const perm = results.map((l, i) => ({ l, w: order[i] ?? i })).sort((a, b) => a.w - b.w).map((x) => x.l);
  writeFileSync(spoolPath, Buffer.concat(spool));
  writeFileSync(resultsPath, perm.join('\n') + (perm.length ? '\n' : ''));
  const chunk: Chunk = { index: 0, spoolPath, firstSeq, count: fates.length, lineCount: spool.length, bytes: 0, inlineBytes: 0, sha256: '', mode: 'file', invalid };
  return { chunk, resultsPath };
}

async function drain(results: JobResults, step: number): Promise<Array<KeyedResult | Buffer>> {
  await results.index();
  const out: Array<KeyedResult | Buffer> = [];
  while (!results.done) out.push(...results.next(step));
  results.close();
  return out;
}

describe('JobResults property', () => {
  it('one result per record, in order, each with its own key and best answer', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom<Fate>('ok', 'error', 'error-then-ok', 'twice', 'missing', 'invalid'), { minLength: 1, maxLength: 40 }),
        fc.array(fc.nat(1000), { maxLength: 100 }),
        fc.nat(1_000_000),
        fc.integer({ min: 1, max: 7 }),
        fc.constantFrom('dup', 'a:b', 'ü', 'k'),
        async (fates, order, firstSeq, step, keyBase) => {
          const keys = fates.map((_, i) => (i % 3 === 0 ? keyBase : `${keyBase}${i}`));
          const { chunk, resultsPath } = build(fates, keys, order, firstSeq);
          const objects = (await drain(new JobResults({ chunk, resultsPath, state: 'SUCCEEDED' }), step)) as KeyedResult[];
          const lines = (await drain(new JobResults({ chunk, resultsPath, state: 'SUCCEEDED' }, { output: 'jsonl' }), step)) as Buffer[];
          expect(objects.map((r) => r.key)).toEqual(keys);
          expect(lines.map((b) => JSON.parse(b.toString()) as unknown)).toEqual(objects);
          fates.forEach((fate, i) => {
            const r = objects[i]!;
            const seq = firstSeq + i;
            if (fate === 'ok' || fate === 'twice' || fate === 'error-then-ok') expect(r).toEqual({ key: keys[i], response: answer(seq) });
            if (fate === 'error') expect(r).toEqual({ key: keys[i], error: { code: 500, message: `failed ${seq}`, status: 'INTERNAL' } });
            if (fate === 'missing') expect(r).toMatchObject({ key: keys[i], error: { status: 'MISSING_RESULT' } });
            if (fate === 'invalid') expect(r).toMatchObject({ key: keys[i], error: { status: 'INVALID_RECORD' } });
          });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('skips results an earlier run emitted, and gives a failed job\'s error to records without a line', async () => {
    const fates: Fate[] = ['ok', 'missing', 'ok', 'missing', 'invalid', 'ok'];
    const keys = fates.map((_, i) => `r${i}`);
    const { chunk, resultsPath } = build(fates, keys, [], 100);
    const failure = { code: 504, status: 'BATCH_EXPIRED', message: 'expired' };
    const out = (await drain(new JobResults({ chunk, resultsPath, state: 'EXPIRED', failure }, { skipBelow: 102 }), 2)) as KeyedResult[];
    expect(out.map((r) => [r.key, 'error' in r ? r.error.status : 'ok'])).toEqual([
      ['r2', 'ok'],
      ['r3', 'BATCH_EXPIRED'],
      ['r4', 'INVALID_RECORD'],
      ['r5', 'ok'],
    ]);
  });
});
