/**
 * The floor: what any JSONL-in, JSONL-out program pays at least. Reads a
 * file with split2, JSON.parse + JSON.stringify of every line, writes it
 * out; once over the requests and once over the results (the client parses
 * its input and, in some form, handles every result line).
 *   node --import tsx bench/floor.child.ts RESULT_JSON OUT_DIR FILE...
 */
import { createReadStream, createWriteStream, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import split2 from 'split2';
import { report, startMeasure } from './lib/measure.js';

const [, , , outDir, ...files] = process.argv;
if (!outDir || files.length === 0) throw new Error('usage: floor.child.ts RESULT OUT_DIR FILE...');

const stop = startMeasure();
const passes: { file: string; wallS: number }[] = [];
for (const [i, file] of files.entries()) {
  const t0 = performance.now();
  const out = join(outDir, `floor-${i}.jsonl`);
  await pipeline(
    createReadStream(file, { highWaterMark: 1 << 16 }),
    split2(JSON.parse),
    new Transform({
      writableObjectMode: true,
      transform(obj: unknown, _enc, cb) {
        cb(null, JSON.stringify(obj) + '\n');
      },
    }),
    createWriteStream(out),
  );
  passes.push({ file, wallS: Math.round(performance.now() - t0) / 1e3 });
}
const measured = stop();
for (let i = 0; i < files.length; i++) rmSync(join(outDir, `floor-${i}.jsonl`), { force: true });
report({ ...measured, passes });
