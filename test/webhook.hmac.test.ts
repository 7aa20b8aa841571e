/**
 * Static (project) deliveries: Standard Webhooks HMAC over real HTTP. Only
 * the configured secret(s), the exact bytes and a timestamp within 5 minutes
 * pass; everything else is 401 and changes nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  createWebhookReceiver,
  startWebhookReceiver,
  verifyWebhook,
  type WebhookEvent,
  type WebhookServer,
} from '../src/webhook/index.js';
import { errorCode, eventBody, hmacHeaders, newSecret, post } from './webhook.helpers.js';

let server: WebhookServer | undefined;
let hints: Array<[string, WebhookEvent]> = [];

async function startReceiver(secret: string | string[] | undefined): Promise<WebhookServer> {
  hints = [];
  server = await startWebhookReceiver({ port: 0, ...(secret === undefined ? {} : { secret }) });
  server.receiver.watch('batches/ours1');
  server.receiver.on('hint', (name, event) => hints.push([name, event]));
  return server;
}

afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('static webhook (Standard Webhooks HMAC)', () => {
  it('a delivery signed with our secret becomes a hint', async () => {
    const secret = newSecret();
    const { url } = await startReceiver(secret);
    const body = eventBody('ours1', 'batch.expired');
    const answer = await post(url, hmacHeaders([secret], body, { id: 'msg_h1' }), body);
    expect(answer.status).toBe(200);
    expect(hints.map(([name, e]) => [name, e.id, e.type, e.scheme])).toEqual([['batches/ours1', 'msg_h1', 'batch.expired', 'hmac']]);
  });

  it('accepts several space-separated signatures during a rotation when one matches', async () => {
    const secret = newSecret();
    const { url } = await startReceiver(secret);
    const body = eventBody('ours1');
    const answer = await post(url, hmacHeaders([newSecret(), secret], body), body);
    expect(answer.status).toBe(200);
    expect(hints).toHaveLength(1);
  });

  it('accepts either of two configured secrets (our side of a rotation)', async () => {
    const [oldSecret, newOne] = [newSecret(), newSecret()];
    const { url } = await startReceiver([oldSecret, newOne]);
    const body = eventBody('ours1');
    expect((await post(url, hmacHeaders([oldSecret], body), body)).status).toBe(200);
    expect((await post(url, hmacHeaders([newOne], body), body)).status).toBe(200);
    expect(hints).toHaveLength(2);
  });

  it('refuses a tampered body', async () => {
    const secret = newSecret();
    const { url } = await startReceiver(secret);
    const headers = hmacHeaders([secret], eventBody('foreign7'));
    const answer = await post(url, headers, eventBody('ours1'));
    expect(answer.status).toBe(401);
    expect(errorCode(answer)).toBe('ERR_WEBHOOK_SIGNATURE');
    expect(hints).toHaveLength(0);
  });

  it('refuses a timestamp more than 5 minutes old or ahead, even correctly signed', async () => {
    const secret = newSecret();
    const { url } = await startReceiver(secret);
    const body = eventBody('ours1');
    for (const offsetMs of [-6 * 60_000, 6 * 60_000]) {
      const answer = await post(url, hmacHeaders([secret], body, { at: new Date(Date.now() + offsetMs) }), body);
      expect(answer.status).toBe(401);
      expect(errorCode(answer)).toBe('ERR_WEBHOOK_EXPIRED');
    }
    // Inside the window is fine.
    expect((await post(url, hmacHeaders([secret], body, { at: new Date(Date.now() - 4 * 60_000) }), body)).status).toBe(200);
    expect(hints).toHaveLength(1);
  });

  it('refuses a delivery signed with another secret, and any HMAC delivery when no secret is configured', async () => {
    const { url } = await startReceiver(newSecret());
    const body = eventBody('ours1');
    const wrong = await post(url, hmacHeaders([newSecret()], body), body);
    expect(wrong.status).toBe(401);
    expect(errorCode(wrong)).toBe('ERR_WEBHOOK_SIGNATURE');
    await server!.close();

    const unconfigured = await startReceiver(undefined);
    expect((await post(unconfigured.url, hmacHeaders([newSecret()], body), body)).status).toBe(401);
    expect(hints).toHaveLength(0);
  });

  it('verifyWebhook() takes WHATWG Headers and a string body (a serverless Request)', async () => {
    const secret = newSecret();
    const body = eventBody('x1', 'batch.succeeded', { runId: 'r' });
    const headers = new Headers(hmacHeaders([secret], body, { id: 'msg_w' }));
    const event = await verifyWebhook(headers, body, { secret });
    expect(event).toMatchObject({ id: 'msg_w', batchName: 'batches/x1', userMetadata: { runId: 'r' }, scheme: 'hmac' });
    await expect(verifyWebhook(headers, `${body} `, { secret })).rejects.toMatchObject({ code: 'ERR_WEBHOOK_SIGNATURE' });
  });

  it('refuses a delivery without webhook-id or webhook-timestamp', async () => {
    const secret = newSecret();
    const body = eventBody('ours1');
    const { 'webhook-id': _id, ...noId } = hmacHeaders([secret], body);
    await expect(verifyWebhook(noId, body, { secret })).rejects.toMatchObject({ code: 'ERR_WEBHOOK_SIGNATURE', status: 401 });
    const { 'webhook-timestamp': _ts, ...noTs } = hmacHeaders([secret], body);
    await expect(verifyWebhook(noTs, body, { secret })).rejects.toMatchObject({ status: 401 });
  });

  it('a verified body that is not an event envelope is 400, not a hint', async () => {
    const secret = newSecret();
    const { url } = await startReceiver(secret);
    for (const body of ['not json', '{"data":{"id":"ours1"}}']) {
      const answer = await post(url, hmacHeaders([secret], body), body);
      expect(answer.status).toBe(400);
      expect(errorCode(answer)).toBe('ERR_WEBHOOK_PAYLOAD');
    }
    expect(hints).toHaveLength(0);
  });

  it('rejects a malformed secret up front with ERR_INVALID_OPTIONS', () => {
    expect(() => createWebhookReceiver({ secret: 'sk-not-a-whsec', register: false })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS' }),
    );
    expect(() => createWebhookReceiver({ secret: [], register: false })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTIONS' }));
  });
});
