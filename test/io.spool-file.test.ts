/**
 * SpoolFile: whatever the line sizes (tiny, block-straddling, larger than a
 * block) and whether the caller waits for each write or not, the file holds
 * exactly the bytes appended, in order, and close() returns their sha256.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpoolFile } from '../src/internal/io/spool-file.js';

let dir: string;
beforeAll(async () => void (dir = await mkdtemp(join(tmpdir(), 'spool-file-'))));
afterAll(() => rm(dir, { recursive: true, force: true }));

const KIB = 1024;
// Sizes around the 256 KiB block: most small, some straddling, some larger than a block.
const lineSize = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 1, max: 2 * KIB }) },
  { weight: 2, arbitrary: fc.integer({ min: 100 * KIB, max: 300 * KIB }) },
  { weight: 1, arbitrary: fc.integer({ min: 256 * KIB, max: 700 * KIB }) },
);

let n = 0;
describe('SpoolFile', () => {
  it('writes exactly the bytes appended, in order, with their sha256', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(lineSize, fc.boolean()), { maxLength: 40 }), async (lines) => {
        const path = join(dir, `s${n++}.jsonl`);
        const spool = new SpoolFile(path);
        const appended: Buffer[] = [];
        for (const [i, [size, wait]] of lines.entries()) {
          const line = Buffer.alloc(size, (i % 250) + 1);
          line[size - 1] = 0x0a;
          appended.push(line);
          const w = spool.append(line);
          if (wait) await w;
        }
        const sha = await spool.close();
        const expected = Buffer.concat(appended);
        const got = await readFile(path);
        expect(got.length).toBe(expected.length);
        expect(got.equals(expected)).toBe(true);
        expect(spool.bytes).toBe(expected.length);
        expect(sha).toBe(createHash('sha256').update(expected).digest('hex'));
      }),
      { numRuns: 40 },
    );
  }, 60_000);
});
