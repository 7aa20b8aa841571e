/**
 * The official @google/genai SDK's WebhookService client and batch
 * webhookConfig against the emulator: the wire shapes (snake_case, the secret
 * once, rotation) are the ones the SDK speaks.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GoogleGenAI } from '@google/genai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../src/emulator/index.js';

const KEY = 'sdk-key';
let emu: RunningEmulator;
let ai: GoogleGenAI;
let hook: Server;
let hookUrl = '';
const bodies: string[] = [];

beforeAll(async () => {
  emu = await startEmulator({ port: 0, apiKey: KEY, pendingMs: 5, runningMs: 10 });
  ai = new GoogleGenAI({ apiKey: KEY, httpOptions: { baseUrl: emu.url } });
  hook = createServer((req, res) => {
    let b = '';
    req.on('data', (c: Buffer) => (b += c.toString('utf8')));
    req.on('end', () => {
      bodies.push(b);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/h`;
});

afterAll(async () => {
  await emu.close();
  hook.closeAllConnections();
  await new Promise<void>((resolve) => hook.close(() => resolve()));
});

describe('official SDK webhooks against the emulator', () => {
  it('creates, gets, lists, updates, rotates and deletes a static webhook', async () => {
    const created = await ai.webhooks.create({ name: 'sdk-hook', uri: hookUrl, subscribed_events: ['batch.succeeded'] });
    expect(created.new_signing_secret).toMatch(/^whsec_/);
    expect(created.id).toEqual(expect.any(String));
    const got = await ai.webhooks.get(created.id!);
    expect(got).toMatchObject({ name: 'sdk-hook', uri: hookUrl, subscribed_events: ['batch.succeeded'], state: 'enabled' });
    expect(got.new_signing_secret).toBeUndefined();
    const listed = await ai.webhooks.list({ page_size: 5 });
    expect(listed.webhooks?.map((w) => w.id)).toContain(created.id);
    const updated = await ai.webhooks.update(created.id!, { update_mask: 'subscribed_events', subscribed_events: ['batch.succeeded', 'batch.failed'] });
    expect(updated.subscribed_events).toEqual(['batch.succeeded', 'batch.failed']);
    const rotated = await ai.webhooks.rotateSigningSecret(created.id!, { revocation_behavior: 'revoke_previous_secrets_immediately' });
    expect(rotated.secret).toMatch(/^whsec_/);
    await ai.webhooks.delete(created.id!);
    expect((await ai.webhooks.list()).webhooks ?? []).toHaveLength(0);
  });

  it('sends config.webhookConfig on a batch create, and the event arrives', async () => {
    const job = await ai.batches.create({
      model: 'gemini-2.5-flash',
      src: [{ contents: [{ role: 'user', parts: [{ text: 'hi' }] }], metadata: { key: 'a' } }],
      config: { displayName: 'sdk-webhook', webhookConfig: { uris: [hookUrl], userMetadata: { run: 'r' } } },
    });
    const deadline = Date.now() + 10_000;
    while (bodies.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(JSON.parse(bodies[0]!)).toMatchObject({ type: 'batch.succeeded', data: { id: job.name }, user_metadata: { run: 'r' } });
  });
});
