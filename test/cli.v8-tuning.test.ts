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

interface Probe {
  tuning?: { semiSpaceMiB: number | false; heapGrowingPercent: number | false; liftoffOnly: boolean };
  newSpace: number;
}

function probe(cap: boolean, nodeFlags: string[] = []): Probe {
  const r = spawnSync(process.execPath, [...nodeFlags, '--import', 'tsx', '--input-type=module', '-e', PROBE], {
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
    expect(capped.tuning).toEqual({ semiSpaceMiB: 4, heapGrowingPercent: 100, liftoffOnly: true });
    expect(capped.newSpace).toBeLessThanOrEqual(8 * MIB + MIB);
  }, 60_000);

  it('leaves each setting alone when the user chose it', () => {
    const r = probe(true, ['--max-semi-space-size=16', '--heap-growing-percent=30', '--no-liftoff-only']);
    expect(r.tuning).toEqual({ semiSpaceMiB: false, heapGrowingPercent: false, liftoffOnly: false });
    expect(r.newSpace).toBeGreaterThan(8 * MIB);
  }, 60_000);

  it('leaves V8 alone on a V8 it was not measured on', async () => {
    const { tuneV8 } = await import('../src/cli/v8-tuning.js');
    expect(tuneV8(4, 100, '12.4.254.21-node.33')).toEqual({ semiSpaceMiB: false, heapGrowingPercent: false, liftoffOnly: false });
  });
});
