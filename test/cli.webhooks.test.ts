/**
 * `gemini-batch webhooks ...` against the emulator's WebhookService, and
 * `run --webhook-listen`: real CLI processes (issue 13, the CLI part).
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/emulator/index.js';
import { batchJsonl, emuEnv, emulator, readLines, runCli, tempDir } from './cli.helpers.js';

let emu: RunningEmulator;
let dir: string;
beforeAll(async () => {
  emu = await emulator();
  dir = tempDir('gb-webhooks-');
});
afterAll(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('gemini-batch webhooks', () => {
  it('create prints the secret once with a warning to store it; list, get, ping, rotate-secret and delete work', async () => {
    const env = emuEnv(emu);
    const created = await runCli(['webhooks', 'create', '--url', 'https://example.test/hook', '--json'], { env });
    expect(created.code).toBe(0);
    expect(created.stderr).toContain('store this signing secret now');
    const hook = JSON.parse(created.stdout) as { id: string; uri: string; newSigningSecret: string };
    expect(hook.uri).toBe('https://example.test/hook');
    expect(hook.newSigningSecret).toMatch(/^whsec_/);

    const list = await runCli(['webhooks', 'list'], { env });
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(hook.id);
    expect(list.stdout).toContain('https://example.test/hook');

    const got = await runCli(['webhooks', 'get', hook.id], { env });
    expect(got.code).toBe(0);
    expect(JSON.parse(got.stdout)).toMatchObject({ id: hook.id, uri: 'https://example.test/hook' });
    // The full secret is never shown again.
    expect(got.stdout).not.toContain(hook.newSigningSecret);
    expect(list.stdout).not.toContain(hook.newSigningSecret);

    const ping = await runCli(['webhooks', 'ping', hook.id], { env });
    expect(ping.code).toBe(0);
    expect(ping.stdout).toContain(`ping sent to ${hook.id}`);

    const rotated = await runCli(['webhooks', 'rotate-secret', hook.id, '--json'], { env });
    expect(rotated.code).toBe(0);
    expect(rotated.stderr).toContain('store this signing secret now');
    const { secret } = JSON.parse(rotated.stdout) as { secret: string };
    expect(secret).toMatch(/^whsec_/);
    expect(secret).not.toBe(hook.newSigningSecret);

    const del = await runCli(['webhooks', 'delete', hook.id], { env });
    expect(del.code).toBe(0);
    const after = await runCli(['webhooks', 'list'], { env });
    expect(after.stdout).not.toContain(hook.id);
  });

  it('run --webhook-listen finishes the run; --webhook-url without --webhook-listen is a usage error', async () => {
    const input = join(dir, 'in.jsonl');
    writeFileSync(input, batchJsonl(30));
    const out = join(dir, 'out.jsonl');
    const r = await runCli(['run', input, '-o', out, '-m', 'gemini-2.5-flash', '--webhook-listen', '127.0.0.1:0', '--quiet'], { env: emuEnv(emu) });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readLines(out)).toHaveLength(30);

    // Without --quiet it says where the events must arrive, port 0 resolved (the url to expose).
    const out2 = join(dir, 'out2.jsonl');
    const said = await runCli(['run', input, '-o', out2, '-m', 'gemini-2.5-flash', '--webhook-listen', '127.0.0.1:0'], { env: emuEnv(emu) });
    expect(said.code).toBe(0);
    expect(said.stderr).toMatch(/receiving webhook events at http:\/\/127\.0\.0\.1:[1-9]\d*\//);

    const bad = await runCli(['run', input, '-o', '-', '-m', 'gemini-2.5-flash', '--webhook-url', 'https://x.test/'], { env: emuEnv(emu) });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--webhook-url needs --webhook-listen');
  });
});
