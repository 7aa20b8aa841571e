/**
 * Options are validated once, up front (ERR_INVALID_OPTIONS), and
 * openWebhookReceiver() turns geminiBatch's `webhook` option into a url to
 * send and a receiver, with or without a server of ours.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  createWebhookReceiver,
  openWebhookReceiver,
  receiveWebhook,
  startWebhookReceiver,
  webhookOptionsSchema,
  type OpenedWebhook,
} from '../src/webhook/index.js';
import { eventBody, hmacHeaders, newSecret, post } from './webhook.helpers.js';

const opened: OpenedWebhook[] = [];
afterEach(async () => {
  for (const o of opened.splice(0)) await o.close();
});

const invalid = expect.objectContaining({ code: 'ERR_INVALID_OPTIONS' });

describe('webhookOptionsSchema', () => {
  it('needs a url or a listen address; fills listen defaults', () => {
    expect(webhookOptionsSchema.safeParse({}).success).toBe(false);
    expect(webhookOptionsSchema.parse({ listen: { port: 0 } })).toEqual({ listen: { host: '127.0.0.1', port: 0, path: '/' } });
    expect(webhookOptionsSchema.parse({ url: 'https://hooks.example.com/g' })).toEqual({ url: 'https://hooks.example.com/g' });
  });

  it('refuses a bad url, port, secret or an unknown key', () => {
    for (const bad of [
      { url: 'ftp://x/y' },
      { url: 'not a url' },
      { listen: { port: 70000 } },
      { url: 'https://x/', secret: 'secret' },
      { url: 'https://x/', secret: 'whsec_!!' },
      { url: 'https://x/', extra: 1 },
    ]) {
      expect(webhookOptionsSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });

  it('factories throw ERR_INVALID_OPTIONS synchronously (or before taking a port) and leave the options untouched', async () => {
    const opts = { secret: newSecret(), bogus: true };
    const frozen = structuredClone(opts);
    expect(() => createWebhookReceiver(opts as never)).toThrow(invalid);
    expect(opts).toEqual(frozen);
    expect(() => createWebhookReceiver({ dedupe: { max: 0 } })).toThrow(invalid);
    await expect(startWebhookReceiver({ port: 0, maxBodyBytes: -1 })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTIONS' });
    const receiver = createWebhookReceiver({ register: false });
    await expect(startWebhookReceiver({ port: 0, receiver, secret: newSecret() })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTIONS' });
    receiver.close();
  });
});

describe('openWebhookReceiver', () => {
  it('with listen: serves deliveries on a free port, and its url is the one to send', async () => {
    const secret = newSecret();
    const w = await openWebhookReceiver({ listen: { port: 0, path: '/g' }, secret });
    opened.push(w);
    expect(w.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/g$/);
    w.receiver.watch('batches/ours1');
    const body = eventBody('ours1');
    expect((await post(w.url, hmacHeaders([secret], body), body)).status).toBe(200);
    expect(w.receiver.stats.hints).toBe(1);
  });

  it('with listen and a public url: sends that url, still listens locally', async () => {
    const w = await openWebhookReceiver({ listen: { port: 0 }, url: 'https://tunnel.example.com/hook' });
    opened.push(w);
    expect(w.url).toBe('https://tunnel.example.com/hook');
  });

  it('without listen: a receiver fed by handleWebhook/receiveWebhook until closed', async () => {
    const secret = newSecret();
    const w = await openWebhookReceiver({ url: 'https://my.example.com/gemini', secret });
    w.receiver.watch('batches/ours1');
    const body = eventBody('ours1');
    expect((await receiveWebhook(hmacHeaders([secret], body), body)).outcome).toBe('hint');
    await w.close();
    expect((await receiveWebhook(hmacHeaders([secret], body), body)).status).toBe(503);
  });

  it('an abort closes it', async () => {
    const ac = new AbortController();
    const w = await openWebhookReceiver({ url: 'https://my.example.com/gemini' }, { signal: ac.signal });
    opened.push(w);
    ac.abort();
    expect(w.receiver.closed).toBe(true);
  });
});
