/** A completed state dir refuses the same input (ERR_STATE_COMPLETE) and runs only what a grown one adds; spool dirs of dead runs are removed. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { startEmulator, type RunningEmulator } from '../src/emulator/index.js';
import { geminiBatch } from '../src/index.js';
import { GeminiBatchError } from '../src/errors.js';
import { collect, records } from './helpers/records.js';

let emu: RunningEmulator;
let root: string;
beforeAll(async () => {
  emu = await startEmulator({ port: 0, pendingMs: 5, runningMs: 10 });
  root = mkdtempSync(join(tmpdir(), 'gb-state-'));
});
afterAll(async () => {
  await emu.close();
  rmSync(root, { recursive: true, force: true });
});

const opts = () => ({ model: 'gemini-2.5-flash', apiKey: 'k', baseUrl: emu.url, mode: 'file' as const, maxRequestsPerBatch: 5, pollInterval: { initialMs: 5, maxMs: 20 } });

/** A pid that belonged to a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

function fakeSpool(parent: string, name: string, pid: number | undefined): string {
  const dir = join(parent, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'chunk-0.jsonl'), 'x\n');
  if (pid !== undefined) writeFileSync(join(dir, 'owner.pid'), String(pid));
  return dir;
}

describe('a state dir', () => {
  it('whose run is complete refuses the same input with ERR_STATE_COMPLETE, not MISSING_RESULT, sending nothing', async () => {
    const stateDir = join(root, 'done');
    const out = await collect(records(12), geminiBatch({ ...opts(), stateDir }));
    expect(out).toHaveLength(12);
    const created = emu.counters().batchesCreated;
    const uploads = emu.counters().uploadsStarted;
    const err = await collect(records(12), geminiBatch({ ...opts(), stateDir })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(GeminiBatchError);
    expect((err as GeminiBatchError).code).toBe('ERR_STATE_COMPLETE');
    expect((err as Error).message).toContain(stateDir);
    expect(emu.counters().batchesCreated).toBe(created);
    expect(emu.counters().uploadsStarted).toBe(uploads);
  });

  it('whose run is complete runs only the records past its end when the input grew, and refuses one whose answered part changed', async () => {
    const stateDir = join(root, 'grown');
    expect(await collect(records(12), geminiBatch({ ...opts(), stateDir }))).toHaveLength(12);
    const created = emu.counters().batchesCreated;
    const grown = await collect(records(15), geminiBatch({ ...opts(), stateDir }));
    // Only the new records' results: the first 12 were delivered by the completed run.
    expect(grown.map((r) => r.key)).toEqual(['k12', 'k13', 'k14']);
    expect(grown.every((r) => 'response' in r)).toBe(true);
    expect(emu.counters().batchesCreated).toBe(created + 1);
    const changed = records(18);
    changed[3] = { key: 'k3', request: { contents: [{ role: 'user', parts: [{ text: 'edited' }] }] } };
    const err = await collect(changed, geminiBatch({ ...opts(), stateDir })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as GeminiBatchError).code).toBe('ERR_STATE_MISMATCH');
    expect(emu.counters().batchesCreated).toBe(created + 1);
  });

  it('keeps spool files under it, and a resume removes those of a killed run', async () => {
    const stateDir = join(root, 'resume');
    mkdirSync(join(stateDir, 'spool'), { recursive: true });
    const killed = fakeSpool(join(stateDir, 'spool'), 'gemini-batch-killed', deadPid());
    const stage = geminiBatch({ ...opts(), stateDir, completeOnEnd: false });
    const live = readdirSync(join(stateDir, 'spool'));
    expect(existsSync(killed)).toBe(false);
    expect(live).toHaveLength(1); // this run's own
    const out = await collect(records(7), stage);
    expect(out).toHaveLength(7);
    expect(existsSync(join(stateDir, 'spool'))).toBe(false);
    await stage.complete();
  });
});

describe('without a state dir', () => {
  it('a new run removes spool dirs whose owner is gone, and only those', async () => {
    const tmp = join(root, 'tmp');
    mkdirSync(tmp);
    const dead = fakeSpool(tmp, 'gemini-batch-dead', deadPid());
    const alive = fakeSpool(tmp, 'gemini-batch-alive', process.pid);
    const unowned = fakeSpool(tmp, 'gemini-batch-unowned', undefined);
    const other = fakeSpool(tmp, 'something-else', deadPid());
    const stage = geminiBatch({ ...opts(), tmpDir: tmp });
    expect([existsSync(dead), existsSync(alive), existsSync(unowned), existsSync(other)]).toEqual([false, true, true, true]);
    stage.destroy();
    await once(stage, 'close');
    // Its own dir went with it.
    expect(readdirSync(tmp).sort()).toEqual(['gemini-batch-alive', 'gemini-batch-unowned', 'something-else']);
  });
});
