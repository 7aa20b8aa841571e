/**
 * `run` checks that it can work before it touches OUT, its journal or the
 * service (issue 21, items 4 and 10): a port nobody listens on, a refused key
 * and a --webhook-listen port really held busy each end in one sentence
 * within seconds, with OUT and the state dir as they were.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/emulator/index.js';
import { batchJsonl, cliEnv, emuEnv, emulator, KEY, runCli, tempDir } from './cli.helpers.js';

let emu: RunningEmulator | undefined;
let held: Server | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await emu?.close();
  await new Promise<void>((resolve) => (held ? held.close(() => resolve()) : resolve()));
  emu = held = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function listen(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

/** A loopback port that nobody listens on. */
async function deadPort(): Promise<number> {
  const { server, port } = await listen();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function workDir(): { dir: string; input: string; out: string } {
  const dir = tempDir('gb-preflight-');
  dirs.push(dir);
  const input = join(dir, 'in.jsonl');
  writeFileSync(input, batchJsonl(6));
  return { dir, input, out: join(dir, 'out.jsonl') };
}

/** Every file under dir with its bytes, to compare before and after. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) out[join(e.parentPath, e.name)] = readFileSync(join(e.parentPath, e.name), 'base64');
  }
  return out;
}

describe('run: preflight before OUT is touched', () => {
  it('an endpoint nobody listens on fails within seconds, exit 1, and a finished run is left as it was', async () => {
    const { dir, input, out } = workDir();
    emu = await emulator();
    const first = await runCli(['run', input, '-o', out, '-m', 'gemini-2.5-flash', '--quiet'], { env: emuEnv(emu) });
    expect(first.code).toBe(0);
    const before = snapshot(dir);
    expect(Object.keys(before).length).toBeGreaterThan(2); // OUT and the journal

    // What starting the CLI costs on this machine (tsx, a loaded box), so the bound below is about the run alone.
    let t0 = Date.now();
    await runCli(['--version'], { env: cliEnv() });
    const startup = Date.now() - t0;
    const port = await deadPort();
    t0 = Date.now();
    // A changed flag would start a new run (archiving the journal, emptying OUT) if the run got that far.
    const r = await runCli(['run', input, '-o', out, '-m', 'gemini-2.5-pro'], { env: cliEnv({ GOOGLE_GEMINI_BASE_URL: `http://127.0.0.1:${port}`, GEMINI_API_KEY: KEY }) });
    // The retries behind "batches: none yet" used to take 36 s; the preflight's budget is a few seconds.
    expect(Date.now() - t0 - startup).toBeLessThan(10_000);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      `gemini-batch: cannot reach http://127.0.0.1:${port} (ECONNREFUSED); nothing was started and OUT was not touched: check the network and GOOGLE_GEMINI_BASE_URL.`,
    );
    expect(r.stderr).not.toContain('none yet');
    expect(snapshot(dir)).toEqual(before);
  }, 120_000); // three CLI processes: slow on a loaded machine

  it('a refused key fails at once, exit 1, before OUT or the state dir exist', async () => {
    const { dir, input, out } = workDir();
    emu = await emulator();
    const r = await runCli(['run', input, '-o', out, '-m', 'gemini-2.5-flash'], { env: cliEnv({ GOOGLE_GEMINI_BASE_URL: emu.url, GEMINI_API_KEY: 'wrong-key-123' }) });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^gemini-batch: http:\/\/127\.0\.0\.1:\d+ refused the API key \(400 INVALID_ARGUMENT: API key not valid/);
    expect(r.stderr).toContain('check GEMINI_API_KEY');
    expect(r.stderr).not.toContain('wrong-key-123');
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir)).toEqual(['in.jsonl']);
    expect(emu.counters().batchesCreated).toBe(0);
  });

  it('a --webhook-listen port held by another program is one usage error (exit 2) before OUT exists', async () => {
    const { dir, input, out } = workDir();
    const busy = await listen();
    held = busy.server;
    const r = await runCli(['run', input, '-o', out, '-m', 'gemini-2.5-flash', '--emulator', '--webhook-listen', `127.0.0.1:${busy.port}`], { env: cliEnv() });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(
      `gemini-batch: --webhook-listen: cannot receive webhook events on 127.0.0.1:${busy.port}: the port is in use by another program (EADDRINUSE); pick another port (0 picks a free one).`,
    );
    expect(readdirSync(dir)).toEqual(['in.jsonl']);
  });
});
