/**
 * Helpers for the CLI tests: the CLI runs as a real process from source
 * (node --import tsx src/cli/run.ts), against an emulator in the test process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../src/emulator/index.js';

export const ROOT = resolve(import.meta.dirname, '..');
export const KEY = 'SECRET-KEY-xyz';

export function tempDir(prefix = 'gb-cli-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function emulator(opts: EmulatorOptions = {}): Promise<RunningEmulator> {
  return startEmulator({ port: 0, pendingMs: 10, runningMs: 20, apiKey: KEY, ...opts });
}

/** The environment of a CLI child: no keys or endpoints of the developer's shell leak in. */
export function cliEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['GEMINI_API_KEY', 'GOOGLE_API_KEY', 'GOOGLE_GEMINI_BASE_URL', 'DEBUG']) delete env[k];
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

export function emuEnv(emu: RunningEmulator): NodeJS.ProcessEnv {
  return cliEnv({ GOOGLE_GEMINI_BASE_URL: emu.url, GEMINI_API_KEY: KEY });
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** tsx by its file, so a child started in another cwd (outside the repo) still finds it. */
export const TSX = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;

export function spawnCli(args: string[], env: NodeJS.ProcessEnv, cwd = ROOT): ChildProcess {
  return spawn(process.execPath, ['--import', TSX, join(ROOT, 'src/cli/run.ts'), ...args], { env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
}

export function collect(child: ChildProcess, stdin?: string | Buffer): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  if (stdin !== undefined) child.stdin!.end(stdin);
  else child.stdin!.end();
  return new Promise((resolvePromise, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolvePromise({ code, signal, stdout, stderr }));
  });
}

export function runCli(args: string[], opts: { env: NodeJS.ProcessEnv; stdin?: string | Buffer; cwd?: string }): Promise<CliResult> {
  return collect(spawnCli(args, opts.env, opts.cwd), opts.stdin);
}

/** `n` Gemini batch JSONL lines, keys k0..k<n-1>, some non-ASCII text. */
export function batchJsonl(n: number, from = 0): string {
  let s = '';
  for (let i = from; i < from + n; i++) {
    const request = { contents: [{ role: 'user', parts: [{ text: `prompt ${i}: naïve café ${'ü'.repeat(i % 7)} 東京` }] }] };
    s += `${JSON.stringify({ key: `k${i}`, request })}\n`;
  }
  return s;
}

export function readLines(path: string): Array<Record<string, unknown>> {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Every file under dir, recursively (for the secret scan). */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}
