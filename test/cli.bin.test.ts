/**
 * The published bin started as a program (as npm's bin link starts it): a
 * plain node script, no shell in between (distroless images and npm's Windows
 * shim have none), no runtime flags, nothing set in the environment, so the
 * pid the caller holds is node's (a signal or a kill -9 reaches the CLI
 * itself). Checked from /proc while the CLI waits on stdin. Needs the bundle
 * (`npm run build`, which the tests' global setup runs when dist/ is missing or stale).
 */
import { spawn } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, cliEnv, collect, tempDir } from './cli.helpers.js';

const BIN = join(ROOT, 'bin/gemini-batch.js');

/** The command line and environment of `pid` once it runs node (sh has exec'd), read from /proc. */
async function nodeView(pid: number): Promise<{ argv: string[]; env: Map<string, string> }> {
  const split = (path: string) => readFileSync(path, 'utf8').split('\0').filter((s) => s !== '');
  for (let i = 0; i < 200; i++) {
    const argv = split(`/proc/${pid}/cmdline`);
    // `env node` runs first for a moment; the program is node once it has exec'd.
    if (basename(readlinkSync(`/proc/${pid}/exe`)) === 'node' && argv[1] === BIN) {
      const env = new Map(split(`/proc/${pid}/environ`).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
      return { argv, env };
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`pid ${pid} never ran node on ${BIN}: ${split(`/proc/${pid}/cmdline`).join(' ')}`);
}

/** The bin started as a program, reading its records from a stdin left open. */
function spawnBin(extraEnv: Record<string, string> = {}) {
  const dir = tempDir('gb-bin-');
  const args = ['run', '-', '-m', 'gemini-2.5-flash', '-o', join(dir, 'out.jsonl'), '--emulator', '--quiet'];
  return spawn(BIN, args, { cwd: dir, env: cliEnv(extraEnv), stdio: ['pipe', 'pipe', 'pipe'] });
}

describe.skipIf(process.platform !== 'linux')('bin/gemini-batch.js started as a program', () => {
  it('is node itself (same pid) with no flags and no environment of its own', async () => {
    expect(readFileSync(BIN, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
    const child = spawnBin();
    const view = await nodeView(child.pid!);
    // node, the bin, its arguments: no V8 flag between node and the script.
    expect(view.argv.slice(1, 3)).toEqual([BIN, 'run']);
    expect(view.env.has('MALLOC_MMAP_THRESHOLD_')).toBe(false);
    // No input: the run ends with nothing to do, and its exit code is node's.
    const r = await collect(child, '');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  }, 30_000);

  it('a kill -9 of the pid the caller holds ends the CLI itself', async () => {
    const child = spawnBin();
    await nodeView(child.pid!);
    // kill -9 of the pid we hold ends the CLI itself: there is no wrapper left to orphan it.
    child.kill('SIGKILL');
    expect((await collect(child, undefined)).signal).toBe('SIGKILL');
  }, 30_000);
});
