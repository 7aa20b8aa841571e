/**
 * LineReader: whatever the order lines are asked for in, each read returns
 * exactly that line's bytes; and a file made of a few ordered runs read in
 * seq order (the Vertex results file: the final predictions, then the rows
 * only an incremental file held) streams through a block per run instead of
 * costing a read per jump between runs.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LineReader } from '../src/internal/io/lines.js';

let dir: string;
beforeAll(async () => void (dir = await mkdtemp(join(tmpdir(), 'line-reader-'))));
afterAll(() => rm(dir, { recursive: true, force: true }));

const KIB = 1024;

/** A file of lines of the given sizes (each line's bytes name it); their offsets and lengths. */
async function fileOf(path: string, sizes: number[]): Promise<{ offsets: number[]; lines: Buffer[] }> {
  const lines = sizes.map((n, i) => Buffer.from(`${i}:`.padEnd(n, String.fromCharCode(97 + (i % 26)))));
  const offsets: number[] = [];
  let at = 0;
  for (const l of lines) {
    offsets.push(at);
    at += l.length + 1;
  }
  await writeFile(path, Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')])));
  return { offsets, lines };
}

let n = 0;
describe('LineReader', () => {
  it('returns each line exactly, in any order of reads', async () => {
    const size = fc.oneof(
      { weight: 8, arbitrary: fc.integer({ min: 4, max: 2 * KIB }) },
      { weight: 1, arbitrary: fc.integer({ min: 200 * KIB, max: 600 * KIB }) },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(size, { minLength: 1, maxLength: 60 }).chain((sizes) => fc.tuple(fc.constant(sizes), fc.shuffledSubarray([...sizes.keys()], { minLength: sizes.length }))),
        async ([sizes, order]) => {
          const path = join(dir, `any-${n++}.jsonl`);
          const { offsets, lines } = await fileOf(path, sizes);
          const reader = new LineReader(path);
          try {
            for (const i of order) expect(reader.read(offsets[i]!, lines[i]!.length).equals(lines[i]!)).toBe(true);
            // Again, twice each: a line still cached and one read anew give the same bytes.
            for (const i of [...order].reverse()) expect(reader.read(offsets[i]!, lines[i]!.length).equals(lines[i]!)).toBe(true);
          } finally {
            reader.close();
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('reads two interleaved ordered runs a block at a time, not a read per jump', async () => {
    // 4,000 lines of 700 bytes (2.8 MB): seq i sits in the first run unless i % 20 === 7,
    // whose lines make a second run at the file's end, as the incremental-only rows do.
    const count = 4000;
    const tail = [...Array(count).keys()].filter((i) => i % 20 === 7);
    const head = [...Array(count).keys()].filter((i) => i % 20 !== 7);
    const fileOrder = [...head, ...tail];
    const path = join(dir, 'runs.jsonl');
    const { offsets, lines } = await fileOf(path, fileOrder.map(() => 700));
    const at = new Map(fileOrder.map((seq, k) => [seq, k]));
    const reader = new LineReader(path);
    try {
      for (let seq = 0; seq < count; seq++) {
        const k = at.get(seq)!;
        expect(reader.read(offsets[k]!, lines[k]!.length).equals(lines[k]!)).toBe(true);
      }
      // One block of 256 KiB per run's 256 KiB and a small read where each run starts (about
      // 13 in all); one cache per reader made it a read per jump: 400 jumps, 800 reads.
      expect(reader.reads).toBeLessThan(30);
    } finally {
      reader.close();
    }
  });
});
