/**
 * Answers with images are megabytes a line: the demuxer holds a few of them
 * at a time, not its object high-water mark's worth (issue 12 saw 1.5 GB for
 * 2,000 answers of 1 MB).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resultDemuxer } from '../src/stages/result-demuxer/index.js';
import { serializeRequestLine, wireKey } from '../src/internal/wire/wire-line.js';
import type { Chunk, FinishedJob } from '../src/types.js';

const dir = mkdtempSync(join(tmpdir(), 'gb-large-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const N = 40;
/** Each answer's image is its own letter, so an answer read over another's bytes would show. */
const image = (i: number) => String.fromCharCode(65 + (i % 26)).repeat(1 << 20);

function job(): FinishedJob {
  const spoolPath = join(dir, 'spool.jsonl');
  const resultsPath = join(dir, 'results.jsonl');
  writeFileSync(spoolPath, Buffer.concat(Array.from({ length: N }, (_, i) => serializeRequestLine(i, `k${i}`, { contents: [] }))));
  const line = (i: number) =>
    JSON.stringify({ response: { candidates: [{ content: { parts: [{ inlineData: { mimeType: 'image/png', data: image(i) } }] } }] }, key: wireKey(i, `k${i}`) });
  writeFileSync(resultsPath, Array.from({ length: N }, (_, i) => line(i)).join('\n') + '\n');
  const chunk: Chunk = { index: 0, spoolPath, firstSeq: 0, count: N, lineCount: N, bytes: 0, inlineBytes: 0, sha256: '', mode: 'file', invalid: [] };
  return { chunk, resultsPath, state: 'SUCCEEDED' };
}

describe('large answers', () => {
  it.each([['objects' as const], ['jsonl' as const]])('are held a few at a time while the consumer waits (%s output)', async (output) => {
    const demux = resultDemuxer({}, { output, removeFiles: false });
    demux.write(job());
    demux.end();
    demux.read(0); // ask for results, then take none for a while
    await sleep(300);
    // 4 MiB of queued answers, plus the one that crossed the line: never the 64 its high-water mark allows.
    expect(demux.readableLength).toBeGreaterThan(0);
    expect(demux.readableLength).toBeLessThanOrEqual(5);

    // Reading one at a time, slowly, the buffer stays that small and every answer comes, in order.
    type Answer = { key: string; response: { candidates: [{ content: { parts: [{ inlineData: { data: string } }] } }] } };
    const keys: string[] = [];
    let most = 0;
    for await (const r of demux) {
      most = Math.max(most, demux.readableLength);
      const answer = (Buffer.isBuffer(r) ? JSON.parse(r.toString()) : r) as Answer;
      expect(answer.response.candidates[0].content.parts[0].inlineData.data === image(keys.length)).toBe(true);
      keys.push(answer.key);
      if (keys.length % 8 === 0) await sleep(5);
    }
    expect(keys).toEqual(Array.from({ length: N }, (_, i) => `k${i}`));
    expect(most).toBeLessThanOrEqual(5);
  });
});
