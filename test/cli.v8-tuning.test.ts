/**
 * The bin's V8 tuning (src/cli/v8-tuning.ts), checked in a
 * fresh process that allocates the way the pipeline does (short-lived strings,
 * a slowly turning set of survivors): with the cap, new_space stops at two
 * 4 MiB semi-spaces; without it (or when the user set a semi-space flag) V8
 * grows it past that. The sizes are V8's own accounting, not timings.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const MIB = 1024 * 1024;

const PROBE = `
import { getHeapSpaceStatistics } from 'node:v8';
import { tuneV8 } from ${JSON.stringify(resolve(ROOT, 'src/cli/v8-tuning.ts'))};
const tuning = process.env.PROBE_CAP === '1' ? tuneV8() : undefined;
const keep = [];
let n = 0;
for (let round = 0; round < 400; round++) {
  for (let i = 0; i < 10_000; i++) {
    const o = { a: 'x' + i, b: [i, i + 1], c: JSON.stringify({ i, round }) };
    if (i % 50 === 0) { keep.push(o); if (keep.length > 4000) keep.shift(); }
    n += o.c.length;
  }
  // GC observers report between turns of the event loop, as in the pipeline.
  await new Promise((r) => setImmediate(r));
}
const newSpace = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
console.log(JSON.stringify({ tuning, newSpace, n }));
`;

/** Counts the young and full GCs of a probe from here on (youngGcs, fullGcs; observer). */
const GC_COUNTER = `
import { constants, PerformanceObserver } from 'node:perf_hooks';
let youngGcs = 0;
let fullGcs = 0;
const observer = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MINOR) youngGcs++;
    if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) fullGcs++;
  }
});
observer.observe({ entryTypes: ['gc'] });`;

/** A 64 MiB download through undici that allocates little JS: how many young GCs free its dead read buffers. */
const DOWNLOAD_PROBE = `
import { createServer } from 'node:http';
import { request } from 'undici';
import { tuneV8 } from ${JSON.stringify(resolve(ROOT, 'src/cli/v8-tuning.ts'))};
const tuning = process.env.PROBE_CAP === '1' ? tuneV8() : undefined;
const piece = Buffer.alloc(64 * 1024, 120);
const server = createServer((_req, res) => {
  let left = 1024;
  const more = () => { while (left > 0) { left--; if (!res.write(piece)) return void res.once('drain', more); } res.end(); };
  more();
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const { body } = await request('http://127.0.0.1:' + server.address().port + '/');
${GC_COUNTER}
let bytes = 0;
for await (const chunk of body) bytes += chunk.length;
await new Promise((r) => setTimeout(r, 50)); // GC entries are reported asynchronously
observer.disconnect();
server.close();
console.log(JSON.stringify({ tuning, bytes, youngGcs, fullGcs }));
`;

/** 128 MiB of INPUT reported through io-bytes.ts in 64 KiB reads, with almost no JS allocated. */
const IO_PROBE = `
import { tuneV8 } from ${JSON.stringify(resolve(ROOT, 'src/cli/v8-tuning.ts'))};
import { reportIoBytes } from ${JSON.stringify(resolve(ROOT, 'src/cli/io-bytes.ts'))};
const tuning = process.env.PROBE_CAP === '1' ? tuneV8() : undefined;
${GC_COUNTER}
let bytes = 0;
for (let i = 0; i < 2048; i++) {
  reportIoBytes(64 * 1024);
  bytes += 64 * 1024;
  if (i % 64 === 63) await new Promise((r) => setImmediate(r));
}
await new Promise((r) => setTimeout(r, 50)); // GC entries are reported asynchronously
observer.disconnect();
console.log(JSON.stringify({ tuning, bytes, youngGcs, fullGcs }));
`;

interface Probe {
  tuning?: { semiSpaceMiB: number | false; heapGrowingPercent: number | false; liftoffOnly: boolean; collectEveryBytes: number | false; fullCollectEveryBytes: number | false };
  newSpace: number;
  bytes: number;
  youngGcs: number;
  fullGcs: number;
}

function probe(cap: boolean, nodeFlags: string[] = [], script = PROBE): Probe {
  const r = spawnSync(process.execPath, [...nodeFlags, '--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, PROBE_CAP: cap ? '1' : '0', NODE_OPTIONS: '' },
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as Probe;
}

describe('tuneV8', () => {
  it('stops new_space at two 4 MiB semi-spaces, where V8 alone grows it further', () => {
    const free = probe(false);
    const capped = probe(true);
    expect(free.newSpace).toBeGreaterThan(8 * MIB);
    expect(capped.tuning).toEqual({ semiSpaceMiB: 4, heapGrowingPercent: 100, liftoffOnly: true, collectEveryBytes: 8 * MIB, fullCollectEveryBytes: 64 * MIB });
    expect(capped.newSpace).toBeLessThanOrEqual(8 * MIB + MIB);
  }, 60_000);

  it('leaves each setting alone when the user chose it', () => {
    const r = probe(true, ['--max-semi-space-size=16', '--heap-growing-percent=30', '--no-liftoff-only', '--expose-gc']);
    expect(r.tuning).toEqual({ semiSpaceMiB: false, heapGrowingPercent: false, liftoffOnly: false, collectEveryBytes: false, fullCollectEveryBytes: false });
    expect(r.newSpace).toBeGreaterThan(8 * MIB);
  }, 60_000);

  it('leaves V8 alone on a V8 it was not measured on', async () => {
    const { tuneV8 } = await import('../src/cli/v8-tuning.js');
    expect(tuneV8({ v8Version: '12.4.254.21-node.33' })).toEqual({ semiSpaceMiB: false, heapGrowingPercent: false, liftoffOnly: false, collectEveryBytes: false, fullCollectEveryBytes: false });
  });

  it('collects the read buffers of a fast download every 8 MiB, where V8 alone hardly runs a GC', () => {
    const free = probe(false, [], DOWNLOAD_PROBE);
    const tuned = probe(true, [], DOWNLOAD_PROBE);
    expect(free.bytes).toBe(64 * MIB);
    expect(tuned.bytes).toBe(64 * MIB);
    // 64 MiB of body: 8 GCs asked for (the last, a full one, may come after the body ends).
    // Without: 3 young GCs (V8 frees 64 MiB of buffers in 3 goes of ~20 MiB).
    expect(tuned.youngGcs + tuned.fullGcs).toBeGreaterThanOrEqual(7);
    expect(free.youngGcs + free.fullGcs).toBeLessThan(7);
  }, 60_000);

  it('counts the INPUT and OUT bytes the CLI reports like HTTP body bytes, with a full GC every 64 MiB', () => {
    const free = probe(false, [], IO_PROBE);
    const tuned = probe(true, [], IO_PROBE);
    // 128 MiB reported in 64 KiB reads that allocate almost no JS: 16 GCs asked for, the 8th and 16th full.
    expect(tuned.fullGcs).toBeGreaterThanOrEqual(2);
    expect(tuned.youngGcs + tuned.fullGcs).toBeGreaterThanOrEqual(16);
    expect(free.youngGcs + free.fullGcs).toBeLessThan(8);
  }, 60_000);
});
