/**
 * Dynamic (per-batch) deliveries over real HTTP both ways: our own JWKS
 * server and RS256 signer, the receiver's own server. A delivery acts only
 * when its JWT verifies; everything else is 401 (or 503 when the keys could
 * not be fetched) and changes nothing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startWebhookReceiver, verifyWebhook, type WebhookEvent, type WebhookServer } from '../src/webhook/index.js';
import {
  errorCode,
  eventBody,
  jwtHeaders,
  newSigningKey,
  post,
  signJwt,
  startJwksServer,
  type JwksServer,
  type SigningKey,
} from './webhook.helpers.js';

let key: SigningKey;
let jwks: JwksServer;
let server: WebhookServer;
let hints: Array<[string, WebhookEvent]>;

async function startReceiver(extra: { jwks?: { cooldownMs?: number }; url?: string } = {}): Promise<void> {
  server = await startWebhookReceiver({ host: '127.0.0.1', port: 0, path: '/hook', baseUrl: jwks.baseUrl, ...extra });
  server.receiver.watch('batches/ours1');
  server.receiver.on('hint', (name, event) => hints.push([name, event]));
}

beforeEach(async () => {
  key = await newSigningKey('key-1');
  jwks = await startJwksServer([key]);
  hints = [];
});

afterEach(async () => {
  await server?.close();
  await jwks.close();
});

describe('dynamic webhook (RS256 JWT)', () => {
  it('a valid delivery becomes one hint for our batch, with its id, type and user metadata', async () => {
    await startReceiver();
    const body = eventBody('ours1', 'batch.succeeded', { runId: 'r1', chunk: 3 });
    const headers = jwtHeaders(await signJwt(key, { aud: server.url, body }), 'msg_1');
    const answer = await post(server.url, headers, body);
    expect(answer.status).toBe(200);
    expect(hints).toHaveLength(1);
    const [name, event] = hints[0]!;
    expect(name).toBe('batches/ours1');
    expect(event).toMatchObject({ id: 'msg_1', type: 'batch.succeeded', batchName: 'batches/ours1', scheme: 'jwt' });
    expect(event.userMetadata).toEqual({ runId: 'r1', chunk: 3 });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/hook$/);
  });

  it('verifyWebhook() alone returns the typed event for a user-run server', async () => {
    const body = eventBody('x9', 'batch.failed');
    const event = await verifyWebhook(jwtHeaders(await signJwt(key, { body }), 'msg_v'), Buffer.from(body), {
      baseUrl: jwks.baseUrl,
    });
    expect(event).toMatchObject({ id: 'msg_v', type: 'batch.failed', batchName: 'batches/x9', userMetadata: undefined });
    expect(event.raw).toEqual(JSON.parse(body));
  });

  it('refuses a token signed by another key under the same kid (forged)', async () => {
    await startReceiver();
    const forger = await newSigningKey('key-1');
    const body = eventBody('ours1');
    const answer = await post(server.url, jwtHeaders(await signJwt(forger, { body })), body);
    expect(answer.status).toBe(401);
    expect(errorCode(answer)).toBe('ERR_WEBHOOK_SIGNATURE');
    expect(hints).toHaveLength(0);
  });

  it('refuses a body that differs from the one the token vouches for (tampered)', async () => {
    await startReceiver();
    const token = await signJwt(key, { body: eventBody('foreign7') });
    const answer = await post(server.url, jwtHeaders(token), eventBody('ours1'));
    expect(answer.status).toBe(401);
    expect(errorCode(answer)).toBe('ERR_WEBHOOK_SIGNATURE');
    expect(hints).toHaveLength(0);
  });

  it('refuses an expired token, and a token with no expiry at all', async () => {
    await startReceiver();
    const body = eventBody('ours1');
    const expired = await post(server.url, jwtHeaders(await signJwt(key, { body, expiresIn: -600 })), body);
    expect(expired.status).toBe(401);
    expect(errorCode(expired)).toBe('ERR_WEBHOOK_EXPIRED');
    const noExp = await post(server.url, jwtHeaders(await signJwt(key, { body, expiresIn: null })), body);
    expect(noExp.status).toBe(401);
    expect(errorCode(noExp)).toBe('ERR_WEBHOOK_SIGNATURE');
    expect(hints).toHaveLength(0);
  });

  it('checks the audience against the configured url when the token names one', async () => {
    await startReceiver();
    const body = eventBody('ours1');
    const elsewhere = await post(server.url, jwtHeaders(await signJwt(key, { body, aud: 'https://attacker.example/hook' })), body);
    expect(elsewhere.status).toBe(401);
    expect(hints).toHaveLength(0);
    // No aud claim: accepted (claims are undocumented; signature and expiry are what we insist on).
    const noAud = await post(server.url, jwtHeaders(await signJwt(key, { body })), body);
    expect(noAud.status).toBe(200);
    // The same endpoint spelled with a trailing slash is still ours.
    const slash = await post(server.url, jwtHeaders(await signJwt(key, { body, aud: `${server.url}/` })), body);
    expect(slash.status).toBe(200);
    expect(hints).toHaveLength(2);
  });

  it('an unknown kid refetches the JWKS once, then 401; a rotated-in key is then found', async () => {
    await startReceiver({ jwks: { cooldownMs: 0 } });
    const body = eventBody('ours1');
    expect((await post(server.url, jwtHeaders(await signJwt(key, { body })), body)).status).toBe(200);
    expect(jwks.fetches()).toBe(1);

    const stranger = await newSigningKey('key-unknown');
    const answer = await post(server.url, jwtHeaders(await signJwt(stranger, { body })), body);
    expect(answer.status).toBe(401);
    expect(errorCode(answer)).toBe('ERR_WEBHOOK_SIGNATURE');
    expect(jwks.fetches()).toBe(2);

    const rotated = await newSigningKey('key-2');
    jwks.publish(rotated);
    expect((await post(server.url, jwtHeaders(await signJwt(rotated, { body })), body)).status).toBe(200);
    expect(jwks.fetches()).toBe(3);
    // A known kid is served from the cache.
    expect((await post(server.url, jwtHeaders(await signJwt(key, { body })), body)).status).toBe(200);
    expect(jwks.fetches()).toBe(3);
    expect(hints).toHaveLength(3);
  });

  it('within the cooldown an unknown kid does not refetch at all (forged kids cannot hammer the service)', async () => {
    await startReceiver();
    const body = eventBody('ours1');
    expect((await post(server.url, jwtHeaders(await signJwt(key, { body })), body)).status).toBe(200);
    const stranger = await newSigningKey('key-unknown');
    for (let i = 0; i < 3; i++) {
      expect((await post(server.url, jwtHeaders(await signJwt(stranger, { body })), body)).status).toBe(401);
    }
    expect(jwks.fetches()).toBe(1);
  });

  it('answers 503 when the JWKS cannot be fetched, so the service retries later', async () => {
    await startReceiver();
    jwks.failWith(500);
    const body = eventBody('ours1');
    const answer = await post(server.url, jwtHeaders(await signJwt(key, { body })), body);
    expect(answer.status).toBe(503);
    expect(errorCode(answer)).toBe('ERR_WEBHOOK_JWKS');
    expect(hints).toHaveLength(0);
    jwks.failWith(undefined);
    expect((await post(server.url, jwtHeaders(await signJwt(key, { body })), body)).status).toBe(200);
    expect(hints).toHaveLength(1);
  });

  it('reads the token liberally: "Bearer <jwt>" and "v1,<jwt>" verify like the bare token', async () => {
    await startReceiver();
    const body = eventBody('ours1');
    for (const prefix of ['Bearer ', 'v1,']) {
      const token = await signJwt(key, { body });
      expect((await post(server.url, jwtHeaders(`${prefix}${token}`), body)).status).toBe(200);
    }
    const forger = await newSigningKey('key-1');
    expect((await post(server.url, jwtHeaders(`v1,${await signJwt(forger, { body })}`), body)).status).toBe(401);
    expect(hints).toHaveLength(2);
  });

  it('refuses a signature header that is neither HMAC entries nor a JWT, and a missing one', async () => {
    await startReceiver();
    const body = eventBody('ours1');
    const odd = await post(server.url, { ...jwtHeaders('not-a-token'), 'content-type': 'application/json' }, body);
    expect(odd.status).toBe(401);
    const { 'webhook-signature': _omit, ...unsigned } = jwtHeaders('x');
    expect((await post(server.url, unsigned, body)).status).toBe(401);
    expect(hints).toHaveLength(0);
  });
});
