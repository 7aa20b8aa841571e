/**
 * The emulator's shuffle pool gives back every row exactly once, byte for
 * byte, in another order, whatever the rows' sizes: short rows that fill the
 * slab again and again (so waiting rows are packed into the other one),
 * multi-byte text, and rows long enough to wait in their own buffer.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../src/emulator/prng.js';
import { ShufflePool } from '../src/emulator/vertex/shuffle.js';

function through(rows: string[], seed: number): string[] {
  const out: string[] = [];
  // The pool lends a view of its slab: copy it out as the writer does.
  const pool = new ShufflePool(mulberry32(seed), (row) => out.push(Buffer.from(row).toString('utf8')));
  for (const r of rows) pool.push(r);
  pool.end();
  return out;
}

describe('ShufflePool', () => {
  it('returns each row once, same bytes, in a shuffled order', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: fc.constantFrom('a', 'é', '€', '😀', '"', 'z'), maxLength: 60 }), { maxLength: 3000 }), fc.nat(), (rows, seed) => {
        const out = through(rows, seed);
        expect([...out].sort()).toEqual([...rows].sort());
      }),
      { numRuns: 60 },
    );
  });

  it('keeps rows intact across many packings of the slab and past its bound', () => {
    // 40,000 rows of ~1-3 KB: ~80 MB through a 16 MiB slab, at most 1,024 or 8 MiB waiting.
    const rows = Array.from({ length: 40_000 }, (_, i) => `{"n":${i},"t":"${'€x'.repeat(300 + (i % 700))}"}`);
    const out = through(rows, 7);
    expect(out.length).toBe(rows.length);
    expect(new Set(out).size).toBe(rows.length);
    for (const r of out) expect(r).toBe(rows[JSON.parse(r).n as number]);
    expect(out.slice(0, 50)).not.toEqual(rows.slice(0, 50));
  });

  it('lets rows over a million characters wait in their own buffer, between slab rows', () => {
    const big = (c: string) => c.repeat((1 << 20) + 5);
    const rows = ['a', big('é'), 'b', big('x'), 'c'];
    const out = through(rows, 3);
    expect([...out].sort()).toEqual([...rows].sort());
  });
});
