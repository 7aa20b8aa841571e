/**
 * The WebhookService client: snake_case on the wire, camelCase for callers,
 * the secret shown once, non-idempotent calls not repeated; and a batch
 * create carrying a dynamic webhookConfig.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createGeminiClient } from '../src/backends/gemini/client.js';
import type { GeminiClient } from '../src/backends/gemini/types.js';
import { startEmulator, type RunningEmulator } from '../src/emulator/index.js';
import { apiError, readBody, sendJson, startServer, type Handler, type TestServer } from './gemini.helpers.js';

describe('webhooks against the emulator', () => {
  let emu: RunningEmulator | undefined;
  let client: GeminiClient | undefined;
  afterEach(async () => {
    await client?.close();
    await emu?.close();
    client = undefined;
    emu = undefined;
  });

  it('create, get, list, update, ping, rotate, delete', async () => {
    emu = await startEmulator({ port: 0 });
    client = createGeminiClient({ baseUrl: emu.url, apiKey: 'k' });
    const created = await client.webhooks.create({ uri: 'https://example.test/hook', subscribedEvents: ['batch.succeeded', 'batch.failed'], name: 'mine' });
    expect(created).toMatchObject({ uri: 'https://example.test/hook', subscribedEvents: ['batch.succeeded', 'batch.failed'], name: 'mine', state: 'enabled' });
    expect(created.id).not.toBe('');
    expect(created.newSigningSecret).toMatch(/^whsec_/);
    expect(JSON.stringify(created.raw)).not.toContain(created.newSigningSecret);

    const got = await client.webhooks.get(`webhooks/${created.id}`);
    expect(got).toMatchObject({ id: created.id, uri: created.uri, subscribedEvents: created.subscribedEvents });
    expect(got.signingSecrets?.[0]?.truncatedSecret).toMatch(/^whsec_/);
    expect(JSON.stringify(got)).not.toContain(created.newSigningSecret);

    await client.webhooks.create({ uri: 'https://example.test/other', subscribedEvents: ['batch.expired'] });
    const ids: string[] = [];
    for await (const w of client.webhooks.list({ pageSize: 1 })) ids.push(w.id);
    expect(ids).toHaveLength(2);
    expect(ids).toContain(created.id);

    const updated = await client.webhooks.update(created.id, { subscribedEvents: ['batch.expired'], state: 'disabled' });
    expect(updated).toMatchObject({ subscribedEvents: ['batch.expired'], state: 'disabled', uri: 'https://example.test/hook' });

    const { secret } = await client.webhooks.rotateSigningSecret(created.id, { revocationBehavior: 'revoke_previous_secrets_immediately' });
    expect(secret).toMatch(/^whsec_/);
    expect(secret).not.toBe(created.newSigningSecret);

    await client.webhooks.delete(created.id);
    await expect(client.webhooks.get(created.id)).rejects.toMatchObject({ httpStatus: 404, status: 'NOT_FOUND' });
  });
});

describe('webhooks on the wire', () => {
  let server: TestServer | undefined;
  let client: GeminiClient | undefined;
  const bodies: string[] = [];
  afterEach(async () => {
    await client?.close();
    await server?.close();
    client = undefined;
    server = undefined;
    bodies.length = 0;
  });
  async function serve(handler: Handler): Promise<GeminiClient> {
    server = await startServer(async (req, res, seen) => {
      bodies.push((await readBody(req)).toString());
      return handler(req, res, seen);
    });
    client = createGeminiClient({ baseUrl: server.url, apiKey: 'k', retry: { initialDelayMs: 1, maxDelayMs: 2 } });
    return client;
  }
  const hook = { id: 'h1', uri: 'https://x.test/', subscribed_events: ['batch.succeeded'] };

  it('speaks snake_case: routes, bodies, update_mask, page_size/page_token', async () => {
    const c = await serve((req, res) => {
      const url = new URL(req.url ?? '', 'http://x');
      if (req.method === 'GET' && url.pathname === '/v1beta/webhooks') {
        return sendJson(res, 200, url.searchParams.get('page_token') ? { webhooks: [{ ...hook, id: 'h2' }] } : { webhooks: [hook], next_page_token: 'n2' });
      }
      if (url.pathname.endsWith(':rotateSigningSecret')) return sendJson(res, 200, { secret: 'whsec_new' });
      if (url.pathname.endsWith(':ping') || req.method === 'DELETE') return sendJson(res, 200, {});
      sendJson(res, 200, { ...hook, new_signing_secret: 'whsec_abc' });
    });
    const created = await c.webhooks.create({ uri: 'https://x.test/', subscribedEvents: ['batch.succeeded'] });
    expect(created.newSigningSecret).toBe('whsec_abc');
    const ids: string[] = [];
    for await (const w of c.webhooks.list({ pageSize: 1 })) ids.push(w.id);
    expect(ids).toEqual(['h1', 'h2']);
    await c.webhooks.update('h1', { uri: 'https://y.test/', subscribedEvents: ['batch.failed'] });
    await c.webhooks.ping('webhooks/h1');
    expect(await c.webhooks.rotateSigningSecret('h1', { revocationBehavior: 'revoke_previous_secrets_after_h24' })).toEqual({ secret: 'whsec_new' });
    await c.webhooks.delete('h1');
    expect(server?.seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      'POST /v1beta/webhooks',
      'GET /v1beta/webhooks?page_size=1',
      'GET /v1beta/webhooks?page_size=1&page_token=n2',
      'PATCH /v1beta/webhooks/h1?update_mask=uri%2Csubscribed_events',
      'POST /v1beta/webhooks/h1:ping',
      'POST /v1beta/webhooks/h1:rotateSigningSecret',
      'DELETE /v1beta/webhooks/h1',
    ]);
    expect(bodies).toEqual([
      '{"uri":"https://x.test/","subscribed_events":["batch.succeeded"]}',
      '',
      '',
      '{"uri":"https://y.test/","subscribed_events":["batch.failed"]}',
      '{}',
      '{"revocation_behavior":"revoke_previous_secrets_after_h24"}',
      '',
    ]);
  });

  it('create and rotate are not repeated after an ambiguous failure; get is', async () => {
    const c = await serve((req, res) => {
      if (req.method === 'GET' && (server?.seen.length ?? 0) > 4) return sendJson(res, 200, hook);
      apiError(res, 503, 'UNAVAILABLE', 'try later');
    });
    await expect(c.webhooks.create({ uri: 'https://x.test/', subscribedEvents: ['batch.succeeded'] })).rejects.toMatchObject({ httpStatus: 503, ambiguous: true });
    await expect(c.webhooks.rotateSigningSecret('h1')).rejects.toMatchObject({ httpStatus: 503, ambiguous: true });
    expect(server?.seen.length).toBe(2);
    await expect(c.webhooks.get('h1')).resolves.toMatchObject({ id: 'h1' });
    expect(server?.seen.length).toBe(5);
  });

  it('a delete whose first answer was lost resolves when the retry meets 404', async () => {
    let n = 0;
    const c = await serve((req, res) => {
      if (++n === 1) return void req.socket.destroy();
      apiError(res, 404, 'NOT_FOUND', 'no such webhook');
    });
    await expect(c.webhooks.delete('h1')).resolves.toBeUndefined();
    expect(n).toBe(2);
    // ... but a 404 on the first try is a real 404.
    await expect(c.webhooks.delete('h2')).rejects.toMatchObject({ httpStatus: 404 });
  });

  it('batches.create sends batch.webhookConfig, and refuses a bad one before any request', async () => {
    const c = await serve((_req, res) => sendJson(res, 200, { name: 'batches/b', metadata: { state: 'BATCH_STATE_PENDING' } }));
    await c.batches.create({
      model: 'gemini-2.5-flash',
      displayName: 'run-0',
      fileName: 'files/a',
      webhookConfig: { uris: ['https://hooks.test/x'], userMetadata: { runId: 'r', chunk: 0 } },
    });
    expect(bodies[0]).toBe('{"batch":{"displayName":"run-0","webhookConfig":{"uris":["https://hooks.test/x"],"userMetadata":{"runId":"r","chunk":0}},"inputConfig":{"fileName":"files/a"}}}');
    await expect(c.batches.create({ model: 'gemini-2.5-flash', fileName: 'files/a', webhookConfig: { uris: [] } })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTIONS' });
    await expect(c.batches.create({ model: 'gemini-2.5-flash', fileName: 'files/a', webhookConfig: { uris: ['ftp://x'] } })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTIONS' });
    expect(server?.seen.length).toBe(1);
  });
});
