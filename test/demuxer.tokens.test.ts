/**
 * Token counts from the real service's nested usageMetadata are the same in
 * 'jsonl' output (read from the line's bytes) and 'objects' output (read
 * from the parsed response): issue 9 saw 0 tokens in jsonl mode.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JobResults } from '../src/stages/result-demuxer/job-results.js';
import { serializeRequestLine, wireKey } from '../src/internal/wire/wire-line.js';
import type { Chunk } from '../src/types.js';

const dir = mkdtempSync(join(tmpdir(), 'gb-tokens-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The service's shape: nested details, thoughts, cached tokens; key last.
const usage = (i: number) => ({
  promptTokenCount: 10 + i,
  promptTokensDetails: [{ modality: 'TEXT', tokenCount: 10 + i }],
  cachedContentTokenCount: 2,
  candidatesTokenCount: 5,
  thoughtsTokenCount: 7,
  totalTokenCount: 22 + i,
});
const line = (seq: number, keyFirst: boolean) => {
  const response = { candidates: [{ content: { parts: [{ text: `a${seq} {"usageMetadata":{"promptTokenCount":999}}` }] } }], usageMetadata: usage(seq) };
  return JSON.stringify(keyFirst ? { key: wireKey(seq, `k${seq}`), response } : { response, key: wireKey(seq, `k${seq}`) });
};

async function tally(output: 'objects' | 'jsonl', keyFirst: boolean) {
  const spoolPath = join(dir, `spool-${output}-${keyFirst}.jsonl`);
  const resultsPath = join(dir, `results-${output}-${keyFirst}.jsonl`);
  const n = 4;
  writeFileSync(spoolPath, Buffer.concat(Array.from({ length: n }, (_, i) => serializeRequestLine(i, `k${i}`, { contents: [] }))));
  writeFileSync(resultsPath, Array.from({ length: n }, (_, i) => line(i, keyFirst)).join('\n') + '\n');
  const chunk: Chunk = { index: 0, spoolPath, firstSeq: 0, count: n, lineCount: n, bytes: 0, inlineBytes: 0, sha256: '', mode: 'file', invalid: [] };
  const sum = { prompt: 0, candidates: 0, total: 0 };
  const results = new JobResults({ chunk, resultsPath, state: 'SUCCEEDED' }, {
    output,
    onTokens: (u) => {
      sum.prompt += u.prompt;
      sum.candidates += u.candidates;
      sum.total += u.total;
    },
  });
  await results.index();
  while (!results.done) results.next(10);
  results.close();
  return sum;
}

describe('token counts', () => {
  it.each([[true], [false]])('are the same in jsonl and objects output (key first: %s)', async (keyFirst) => {
    const expected = { prompt: 10 + 11 + 12 + 13, candidates: 20, total: 22 + 23 + 24 + 25 };
    expect(await tally('objects', keyFirst)).toEqual(expected);
    expect(await tally('jsonl', keyFirst)).toEqual(expected);
  });
});
