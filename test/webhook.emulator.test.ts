/**
 * Real deliveries from the emulator (which signs as the service does: an
 * RS256 JWT from its own JWKS for a batch's webhookConfig, Standard Webhooks
 * HMAC for a project webhook) reach our receiver over loopback and wake the
 * batch's wait; its duplicates and forgeries change nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../src/emulator/index.js';
import { openWebhookReceiver, type OpenedWebhook, type WebhookEvent } from '../src/webhook/index.js';
import { call } from './emulator.helpers.js';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function emulator(opts: EmulatorOptions = {}): Promise<RunningEmulator> {
  const e = await startEmulator({ port: 0, pendingMs: 5, runningMs: 20, webhookRetryBaseMs: 20, ...opts });
  open.push(e);
  return e;
}

async function receiver(e: RunningEmulator, runId: string, secret?: string): Promise<{ w: OpenedWebhook; hints: WebhookEvent[] }> {
  const w = await openWebhookReceiver(
    { listen: { port: 0, path: '/hook' }, ...(secret ? { secret } : {}) },
    { baseUrl: e.url, isOurs: (_name, event) => event.userMetadata?.runId === runId || event.scheme === 'hmac' },
  );
  open.push(w);
  const hints: WebhookEvent[] = [];
  w.receiver.on('hint', (_name, event) => hints.push(event));
  return { w, hints };
}

async function createBatch(e: RunningEmulator, webhookConfig?: Record<string, unknown>): Promise<string> {
  const r = await call('POST', `${e.url}/v1beta/models/gemini-2.5-flash:batchGenerateContent`, {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      batch: {
        displayName: 'w',
        inputConfig: { requests: { requests: [{ request: { contents: [{ parts: [{ text: 'hi' }] }] }, metadata: { key: 'a' } }] } },
        ...(webhookConfig ? { webhookConfig } : {}),
      },
    }),
  });
  expect(r.status).toBe(200);
  return (r.json() as { name: string }).name;
}

describe('deliveries from the emulator', () => {
  it('a dynamic delivery (JWT) wakes the batch; a duplicate and a forgery change nothing', async () => {
    const e = await emulator({ webhookFaults: { duplicate: 1, forge: 1 } });
    const { w, hints } = await receiver(e, 'run-1');
    const name = await createBatch(e, { uris: [w.url], userMetadata: { runId: 'run-1', chunk: 0 } });
    await expect(w.receiver.waitForHint(name, 10_000)).resolves.toBe('hint');
    // The duplicate and the forgery arrive too; wait until all three were judged.
    const deadline = Date.now() + 10_000;
    const judged = () => w.receiver.stats.hints + w.receiver.stats.duplicates + w.receiver.stats.rejected + w.receiver.stats.ignored;
    while (judged() < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(w.receiver.stats).toMatchObject({ received: 3, hints: 1, duplicates: 1, rejected: 1 });
    expect(hints).toHaveLength(1);
    expect(hints[0]).toMatchObject({ type: 'batch.succeeded', batchName: name, scheme: 'jwt', userMetadata: { runId: 'run-1', chunk: 0 } });
  });

  it('a static delivery (HMAC, project webhook secret) wakes the batch', async () => {
    const e = await emulator();
    const created = await call('POST', `${e.url}/v1beta/webhooks`, {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ uri: 'http://127.0.0.1:1/unused', subscribed_events: ['batch.succeeded'] }),
    });
    const hook = created.json() as { id: string; new_signing_secret: string };
    const { w, hints } = await receiver(e, 'run-2', hook.new_signing_secret);
    const patched = await call('PATCH', `${e.url}/v1beta/webhooks/${hook.id}?update_mask=uri`, {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ uri: w.url }),
    });
    expect(patched.status).toBe(200);
    const name = await createBatch(e);
    await expect(w.receiver.waitForHint(name, 10_000)).resolves.toBe('hint');
    expect(hints).toHaveLength(1);
    expect(hints[0]).toMatchObject({ type: 'batch.succeeded', batchName: name, scheme: 'hmac' });
  });
});
