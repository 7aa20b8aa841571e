/**
 * Each result's status comes from the library (the CLI's summary and exit
 * code read it, no one re-reads the output bytes): the real service's
 * per-request errors carry gRPC codes and no status string, its lines put
 * the key last, and a missing line or an invalid record has a status too.
 * The same in 'jsonl' and 'objects' output.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JobResults } from '../src/stages/result-demuxer/job-results.js';
import { serializeRequestLine, wireKey } from '../src/internal/wire/wire-line.js';
import { ProgressCounters } from '../src/progress.js';
import type { Chunk, KeyedResult } from '../src/types.js';

const dir = mkdtempSync(join(tmpdir(), 'gb-status-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// seq 0 ok, 1 gRPC 13, 2 missing, 3 invalid (never sent), 4 gRPC 4, 5 ok with the key first.
const resultLines = [
  JSON.stringify({ response: { candidates: [{ content: { parts: [{ text: 'a' }] } }] }, key: wireKey(0, 'a') }),
  JSON.stringify({ error: { code: 13, message: 'An internal error has occurred' }, key: wireKey(1, 'b') }),
  JSON.stringify({ error: { code: 4, message: 'Deadline exceeded' }, key: wireKey(4, 'e') }),
  JSON.stringify({ key: wireKey(5, 'f'), response: { candidates: [] } }),
];

async function statuses(output: 'objects' | 'jsonl') {
  const spoolPath = join(dir, `spool-${output}.jsonl`);
  const resultsPath = join(dir, `results-${output}.jsonl`);
  const sent = [0, 1, 2, 4, 5];
  writeFileSync(spoolPath, Buffer.concat(sent.map((i) => serializeRequestLine(i, 'abcdef'[i]!, { contents: [] }))));
  writeFileSync(resultsPath, `${resultLines.join('\n')}\n`);
  const invalid = [{ seq: 3, key: 'd', error: { code: 400, status: 'INVALID_RECORD', message: 'bad' } }];
  const chunk: Chunk = { index: 0, spoolPath, firstSeq: 0, count: 6, lineCount: 5, bytes: 0, inlineBytes: 0, sha256: '', mode: 'file', invalid };
  const progress = new ProgressCounters();
  const results = new JobResults({ chunk, resultsPath, state: 'SUCCEEDED' }, { output, onResult: (e) => progress.onResult(e) });
  await results.index();
  const out: Array<KeyedResult | Buffer> = [];
  while (!results.done) out.push(...results.next(10));
  results.close();
  const parsed = out.map((o) => (Buffer.isBuffer(o) ? (JSON.parse(o.toString()) as KeyedResult) : o));
  return { snapshot: progress.snapshot(), parsed };
}

describe('per-result status', () => {
  it.each([['jsonl' as const], ['objects' as const]])('is named and counted by the library (%s output)', async (output) => {
    const { snapshot, parsed } = await statuses(output);
    expect(parsed.map((r) => r.key)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(parsed.map((r) => ('error' in r ? r.error.status : 'ok'))).toEqual(['ok', 'INTERNAL', 'MISSING_RESULT', 'INVALID_RECORD', 'DEADLINE_EXCEEDED', 'ok']);
    expect(snapshot.resultsOut).toBe(6);
    expect(snapshot.errorsOut).toBe(4);
    expect(snapshot.errorsByStatus).toEqual({ INTERNAL: 1, MISSING_RESULT: 1, INVALID_RECORD: 1, DEADLINE_EXCEEDED: 1 });
  });

  it('keeps the status map bounded when a service invents statuses', () => {
    const p = new ProgressCounters();
    for (let i = 0; i < 500; i++) p.onResult({ code: 500, status: `S${i}`, message: 'x' });
    const s = p.snapshot();
    expect(s.errorsOut).toBe(500);
    expect(Object.keys(s.errorsByStatus).length).toBeLessThanOrEqual(65);
    expect(Object.values(s.errorsByStatus).reduce((a, b) => a + b, 0)).toBe(500);
  });
});
