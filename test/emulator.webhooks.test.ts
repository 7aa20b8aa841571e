/**
 * Webhooks as the service sends them, checked by a tiny receiver that
 * verifies every delivery the way a user would: dynamic ones with jose
 * (RS256 JWT, key by kid from the emulator's JWKS, audience = the endpoint),
 * static ones with standardwebhooks (HMAC of id.timestamp.body).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../src/emulator/index.js';
import { call, jsonl, uploadOnce, waitDone } from './emulator.helpers.js';

interface Delivery {
  headers: IncomingHttpHeaders;
  body: string;
}

interface Receiver {
  url: string;
  got: Delivery[];
  /** Status to answer for the nth delivery (0-based); 204 by default. */
  status: (n: number, d: Delivery) => number | Promise<number>;
  close: () => Promise<void>;
}

const open: { close: () => Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
});

async function receiver(): Promise<Receiver> {
  const r: Receiver = { url: '', got: [], status: () => 204, close: async () => {} };
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const d = { headers: req.headers, body: Buffer.concat(parts).toString('utf8') };
      const n = r.got.length;
      r.got.push(d);
      void Promise.resolve(r.status(n, d)).then((code) => {
        res.writeHead(code);
        res.end();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  r.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  open.push(r);
  return r;
}

async function emulator(opts: EmulatorOptions = {}): Promise<RunningEmulator> {
  const e = await startEmulator({ port: 0, pendingMs: 5, runningMs: 10, webhookRetryBaseMs: 20, ...opts });
  open.push(e);
  return e;
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((res) => setTimeout(res, 10));
  }
}

const json = { 'content-type': 'application/json' };
const inlineBatch = (webhookConfig?: Record<string, unknown>) =>
  JSON.stringify({
    batch: {
      displayName: 'w',
      inputConfig: { requests: { requests: [{ request: { contents: [{ parts: [{ text: 'hi' }] }] }, metadata: { key: 'a' } }] } },
      ...(webhookConfig ? { webhookConfig } : {}),
    },
  });
const createInline = (url: string, webhookConfig?: Record<string, unknown>) =>
  call('POST', `${url}/v1beta/models/gemini-2.5-flash:batchGenerateContent`, { headers: json, body: inlineBatch(webhookConfig) });

async function verifyJwt(emu: RunningEmulator, d: Delivery, audience: string) {
  const jwks = createRemoteJWKSet(new URL(`${emu.url}/.well-known/jwks.json`));
  return jwtVerify(String(d.headers['webhook-signature']), jwks, { audience, algorithms: ['RS256'] });
}

const staticHeaders = (d: Delivery): Record<string, string> => ({
  'webhook-id': String(d.headers['webhook-id']),
  'webhook-timestamp': String(d.headers['webhook-timestamp']),
  'webhook-signature': String(d.headers['webhook-signature']),
});

describe('dynamic webhooks (batch.webhookConfig)', () => {
  it('POST a JWT-signed batch.succeeded event to the batch URIs, echoing user_metadata', async () => {
    const e = await emulator();
    const r = await receiver();
    const c = await createInline(e.url, { uris: [r.url], userMetadata: { runId: 'run-1', chunk: 3 } });
    expect(c.status).toBe(200);
    const name = (c.json() as { name: string }).name;
    expect((c.json() as { metadata: { webhookConfig: unknown } }).metadata.webhookConfig).toEqual({
      uris: [r.url],
      userMetadata: { runId: 'run-1', chunk: 3 },
    });
    await until(() => r.got.length === 1);
    const d = r.got[0]!;
    expect(d.headers['webhook-id']).toMatch(/\S+/);
    expect(Math.abs(Number(d.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
    const { payload, protectedHeader } = await verifyJwt(e, d, r.url);
    expect(protectedHeader).toMatchObject({ alg: 'RS256', kid: expect.any(String) });
    expect(payload.exp! - payload.iat!).toBeGreaterThan(0);
    const event = JSON.parse(d.body) as Record<string, unknown>;
    expect(event).toMatchObject({
      type: 'batch.succeeded',
      version: 'v1',
      timestamp: expect.any(String),
      data: { id: name },
      user_metadata: { runId: 'run-1', chunk: 3 },
    });
    // The JWT is for this endpoint only.
    await expect(verifyJwt(e, d, 'http://elsewhere.invalid/')).rejects.toThrow();
    expect(e.counters().webhooksDelivered).toBe(1);
  });

  it('name the output file of a file batch, and send batch.failed / batch.expired with their data', async () => {
    const e = await emulator({ failJobs: [2], expireJobs: [3] });
    const r = await receiver();
    const file = await uploadOnce(e.url, Buffer.from(jsonl(2)));
    const ok = await call('POST', `${e.url}/v1beta/models/gemini-2.5-flash:batchGenerateContent`, {
      headers: json,
      body: JSON.stringify({ batch: { inputConfig: { fileName: file }, webhook_config: { uris: [r.url] } } }),
    });
    const failed = await createInline(e.url, { uris: [r.url] });
    const expired = await createInline(e.url, { uris: [r.url] });
    await until(() => r.got.length === 3);
    const events = new Map(r.got.map((d) => JSON.parse(d.body) as { type: string; data: Record<string, unknown> }).map((ev) => [ev.data.id, ev]));
    const okName = (ok.json() as { name: string }).name;
    expect(events.get(okName)).toMatchObject({ type: 'batch.succeeded', data: { output_file_uri: expect.stringContaining(`files/batch-${okName.slice(8)}`) } });
    expect(events.get((failed.json() as { name: string }).name)).toMatchObject({
      type: 'batch.failed',
      data: { error_code: expect.any(Number), error_message: expect.any(String) },
    });
    expect(events.get((expired.json() as { name: string }).name)).toMatchObject({ type: 'batch.expired' });
    for (const d of r.got) await verifyJwt(e, d, r.url);
  });

  it('retry a failed delivery with backoff under the same webhook-id, a bounded number of times', async () => {
    const e = await emulator({ webhookMaxAttempts: 3 });
    const flaky = await receiver();
    flaky.status = (n) => (n < 2 ? 500 : 200);
    await createInline(e.url, { uris: [flaky.url] });
    await until(() => flaky.got.length === 3);
    expect(new Set(flaky.got.map((d) => d.headers['webhook-id'])).size).toBe(1);
    await until(() => e.counters().webhooksDelivered === 1);

    const down = await receiver();
    down.status = () => 503;
    await createInline(e.url, { uris: [down.url] });
    await until(() => down.got.length === 3);
    await new Promise((res) => setTimeout(res, 300));
    expect(down.got).toHaveLength(3);
  });
});

describe('delivery faults', () => {
  it('drop, duplicate, delay and forge deliveries as asked', async () => {
    const dropped = await emulator({ webhookFaults: { drop: 1 } });
    const r1 = await receiver();
    const op = await waitDone(dropped.url, ((await createInline(dropped.url, { uris: [r1.url] })).json() as { name: string }).name);
    expect(op.metadata.state).toBe('BATCH_STATE_SUCCEEDED');
    await new Promise((res) => setTimeout(res, 100));
    expect(r1.got).toHaveLength(0);
    expect(dropped.counters().webhooksDropped).toBe(1);

    const dup = await emulator({ webhookFaults: { duplicate: 1, delayMs: 50 } });
    const r2 = await receiver();
    await createInline(dup.url, { uris: [r2.url] });
    await until(() => r2.got.length === 2);
    expect(r2.got[0]!.headers['webhook-id']).toBe(r2.got[1]!.headers['webhook-id']);
    for (const d of r2.got) await verifyJwt(dup, d, r2.url);

    const forged = await emulator({ webhookFaults: { forge: 1 } });
    const r3 = await receiver();
    r3.status = async (_n, d) => ((await verifyJwt(forged, d, r3.url).then(() => true, () => false)) ? 204 : 401);
    await createInline(forged.url, { uris: [r3.url] });
    await until(() => r3.got.length === 2);
    const results = await Promise.all(r3.got.map((d) => verifyJwt(forged, d, r3.url).then(() => 'ok', () => 'bad')));
    expect(results.sort()).toEqual(['bad', 'ok']);
    // The forgery names our kid but is signed by another key.
    const kids = new Set(r3.got.map((d) => decodeProtectedHeader(String(d.headers['webhook-signature'])).kid));
    expect(kids.size).toBe(1);
    await new Promise((res) => setTimeout(res, 100));
    expect(r3.got).toHaveLength(2); // a forgery is not retried
  });
});

describe('static webhooks (WebhookService)', () => {
  it('create shows the secret once; deliveries carry Standard Webhooks HMAC signatures', async () => {
    const e = await emulator();
    const r = await receiver();
    const created = await call('POST', `${e.url}/v1beta/webhooks`, {
      headers: json,
      body: JSON.stringify({ name: 'mine', uri: r.url, subscribed_events: ['batch.succeeded', 'batch.failed'] }),
    });
    expect(created.status).toBe(200);
    const hook = created.json() as { id: string; new_signing_secret: string; subscribed_events: string[]; state: string };
    expect(hook.new_signing_secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(hook).toMatchObject({ name: 'mine', uri: r.url, subscribed_events: ['batch.succeeded', 'batch.failed'], state: 'enabled' });
    const got = (await call('GET', `${e.url}/v1beta/webhooks/${hook.id}`)).json();
    expect(got).not.toHaveProperty('new_signing_secret');
    expect(JSON.stringify(got)).not.toContain(hook.new_signing_secret);
    const listed = (await call('GET', `${e.url}/v1beta/webhooks?page_size=10`)).json() as { webhooks: { id: string }[] };
    expect(listed.webhooks.map((w) => w.id)).toEqual([hook.id]);

    const name = ((await createInline(e.url)).json() as { name: string }).name;
    await until(() => r.got.length === 1);
    const d = r.got[0]!;
    const event = new Webhook(hook.new_signing_secret).verify(d.body, staticHeaders(d)) as { type: string; data: { id: string } };
    expect(event).toMatchObject({ type: 'batch.succeeded', data: { id: name } });
    expect(() => new Webhook(`whsec_${Buffer.alloc(32, 7).toString('base64')}`).verify(d.body, staticHeaders(d))).toThrow();

    // A batch with its own URIs does not go to the project's webhooks.
    const other = await receiver();
    await createInline(e.url, { uris: [other.url] });
    await until(() => other.got.length === 1);
    await new Promise((res) => setTimeout(res, 50));
    expect(r.got).toHaveLength(1);
  });

  it('rotate: both secrets sign for a while unless revoked at once; update, ping and delete work', async () => {
    const e = await emulator();
    const r = await receiver();
    const hook = (
      await call('POST', `${e.url}/v1beta/webhooks`, { headers: json, body: JSON.stringify({ uri: r.url, subscribed_events: ['batch.succeeded'] }) })
    ).json() as { id: string; new_signing_secret: string };
    const rotated = (await call('POST', `${e.url}/v1beta/webhooks/${hook.id}:rotateSigningSecret`, { headers: json, body: '{}' })).json() as { secret: string };
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(hook.new_signing_secret);

    await call('POST', `${e.url}/v1beta/webhooks/${hook.id}:ping`, { headers: json, body: '{}' });
    await until(() => r.got.length === 1);
    const d1 = r.got[0]!;
    expect(String(d1.headers['webhook-signature']).split(' ')).toHaveLength(2);
    for (const s of [hook.new_signing_secret, rotated.secret]) expect(() => new Webhook(s).verify(d1.body, staticHeaders(d1))).not.toThrow();

    const again = (
      await call('POST', `${e.url}/v1beta/webhooks/${hook.id}:rotateSigningSecret`, {
        headers: json,
        body: JSON.stringify({ revocation_behavior: 'revoke_previous_secrets_immediately' }),
      })
    ).json() as { secret: string };
    await createInline(e.url);
    await until(() => r.got.length === 2);
    const d2 = r.got[1]!;
    expect(() => new Webhook(again.secret).verify(d2.body, staticHeaders(d2))).not.toThrow();
    expect(() => new Webhook(rotated.secret).verify(d2.body, staticHeaders(d2))).toThrow();

    const patched = await call('PATCH', `${e.url}/v1beta/webhooks/${hook.id}?update_mask=state`, { headers: json, body: JSON.stringify({ state: 'disabled' }) });
    expect(patched.json()).toMatchObject({ state: 'disabled' });
    await waitDone(e.url, ((await createInline(e.url)).json() as { name: string }).name);
    await new Promise((res) => setTimeout(res, 100));
    expect(r.got).toHaveLength(2);

    expect((await call('DELETE', `${e.url}/v1beta/webhooks/${hook.id}`)).json()).toEqual({});
    expect((await call('GET', `${e.url}/v1beta/webhooks/${hook.id}`)).status).toBe(404);
    const bad = await call('POST', `${e.url}/v1beta/webhooks`, { headers: json, body: JSON.stringify({ uri: 'nope', subscribed_events: [] }) });
    expect(bad.json()).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT' } });
  });
});
