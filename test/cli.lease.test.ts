/**
 * The state dir's lock is a lease (issue 21, item 2), through the CLI as real
 * processes: a run killed -9 whose parent does not reap it (a zombie, as
 * under a PID 1 that does not reap) is taken over by an immediate rerun; a
 * run killed under another hostname (a new UTS namespace) is taken over once
 * its lease expires; a live run is refused however long it runs.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/emulator/index.js';
import { batchJsonl, collect, emuEnv, emulator, ROOT, runCli, spawnCli, tempDir, TSX } from './cli.helpers.js';

const N = 300;
/** Short leases so the takeover after expiry is seconds, not 30. */
const STALE_MS = 3_000;
/** Long enough for a refused rerun to start (tsx on a loaded machine) before the killed run's lease expires. */
const SLOW_STALE_MS = 15_000;
let emu: RunningEmulator;
let dir: string;
let input: string;
const flags = ['-m', 'gemini-2.5-flash', '--mode', 'file', '--max-requests', '100', '--max-jobs', '1', '--poll-interval', '50', '--quiet'];

beforeAll(async () => {
  // Jobs that run for a minute: the first run of each test surely still holds the lock when it is killed.
  emu = await emulator({ runningMs: 60_000 });
  dir = tempDir('gb-lease-');
  input = join(dir, 'in.jsonl');
  writeFileSync(input, batchJsonl(N));
});
afterAll(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const env = (staleMs = STALE_MS) => ({ ...emuEnv(emu), GEMINI_BATCH_LOCK_STALE_MS: String(staleMs) });
const stateOf = (out: string) => join(dir, '.gemini-batch', out.split('/').pop()!);

/** Who holds the lock of OUT's state dir: `lock.owner` (or, before the lease, the `lock` file itself). */
function readOwner(out: string): { pid: number; host: string } | undefined {
  for (const name of ['lock.owner', 'lock']) {
    try {
      return JSON.parse(readFileSync(join(stateOf(out), name), 'utf8')) as { pid: number; host: string };
    } catch {
      // Not there (or the lease directory itself).
    }
  }
  return undefined;
}

async function waitForOwner(out: string): Promise<{ pid: number; host: string }> {
  const until = Date.now() + 60_000;
  while (!readOwner(out)) {
    if (Date.now() > until) throw new Error('the first run never took the lock');
    await sleep(20);
  }
  await sleep(200); // and past its first steps
  return readOwner(out)!;
}

function procState(pid: number): string | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

/**
 * Start the same command again and see it take the lock (the owner record
 * names it); it is then killed (its jobs would take a minute here). A refusal
 * fails the test with what the rerun said.
 */
async function rerunTakesOver(out: string, staleMs = STALE_MS): Promise<number> {
  const started = Date.now();
  const again = spawnCli(['run', input, '-o', out, ...flags], env(staleMs));
  const done = collect(again);
  try {
    for (;;) {
      if (again.exitCode !== null) {
        const r = await done;
        throw new Error(`the rerun exited ${r.code}: ${r.stderr}`);
      }
      if (readOwner(out)?.pid === again.pid) return Date.now() - started;
      await sleep(20);
    }
  } finally {
    again.kill('SIGKILL');
    await done;
  }
}

describe('gemini-batch run: the state dir lock is a lease', () => {
  it.skipIf(process.platform !== 'linux')('a run killed -9 and left a zombie by its parent is taken over by an immediate rerun', async () => {
    const out = join(dir, 'zombie.jsonl');
    // A parent that starts the run and never reaps it: after the kill the run is a zombie.
    const parent = spawn(
      'python3',
      ['-c', 'import os,sys,time\npid=os.fork()\nif pid==0:\n  os.execv(sys.argv[1], sys.argv[1:])\nprint(pid, flush=True)\ntime.sleep(600)', process.execPath, '--import', TSX, join(ROOT, 'src/cli/run.ts'), 'run', input, '-o', out, ...flags],
      { env: env(), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      const pid = await new Promise<number>((resolve) => parent.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
      const owner = await waitForOwner(out);
      expect(owner.pid).toBe(pid);
      process.kill(pid, 'SIGKILL');
      while (procState(pid) !== 'Z') await sleep(10);

      // Taken at once (the lease, renewed a moment ago, has not expired): no refusal, no wait.
      await rerunTakesOver(out);
      expect(procState(pid)).toBe('Z'); // still unreaped: the zombie did not hold the lock
    } finally {
      parent.kill('SIGKILL');
    }
  }, 180_000);

  it.skipIf(process.getuid?.() !== 0 || process.platform !== 'linux')(
    'a run killed under another hostname is refused while its lease is fresh, naming it and how to break it, and taken over once it expires',
    async () => {
      const out = join(dir, 'elsewhere.jsonl');
      const cli = [process.execPath, '--import', TSX, join(ROOT, 'src/cli/run.ts'), 'run', input, '-o', out, ...flags].map((a) => `'${a}'`).join(' ');
      // unshare execs sh, which execs node: the pid we kill is the run's.
      const child = spawn('unshare', ['-u', 'sh', '-c', `hostname gb-gone-pod && exec ${cli}`], { env: env(SLOW_STALE_MS), stdio: ['ignore', 'ignore', 'inherit'] });
      const exited = new Promise((r) => child.once('exit', r));
      const owner = await waitForOwner(out);
      expect(owner.host).toBe('gb-gone-pod');
      expect(owner.host).not.toBe(hostname());
      child.kill('SIGKILL');
      await exited;

      const refused = await runCli(['run', input, '-o', out, ...flags], { env: env(SLOW_STALE_MS) });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`in use by process ${owner.pid} on gb-gone-pod (since `);
      expect(refused.stderr).toMatch(/taken over if not renewed by \d{4}-\d\d-\d\dT/);
      expect(refused.stderr).toContain(`remove the directory ${join(stateOf(out), 'lock')}`);
      expect(refused.stderr.trim().split('\n')).toHaveLength(1);

      const renewed = Date.parse(/last renewed at (\S+) /.exec(refused.stderr)![1]!);
      await sleep(Math.max(0, renewed + SLOW_STALE_MS + 500 - Date.now()));
      await rerunTakesOver(out, SLOW_STALE_MS);
    },
    180_000,
  );

  it('a live run is refused however long it runs: it renews its lease', async () => {
    const out = join(dir, 'live.jsonl');
    const first = spawnCli(['run', input, '-o', out, ...flags], env());
    const firstDone = collect(first);
    try {
      await waitForOwner(out);
      await sleep(STALE_MS * 2);
      const second = await runCli(['run', input, '-o', out, ...flags], { env: env() });
      expect(second.code).toBe(1);
      expect(second.stderr).toContain(`in use by process ${first.pid} on ${hostname()}`);
    } finally {
      first.kill('SIGKILL');
      await firstDone;
    }
  }, 120_000);
});
