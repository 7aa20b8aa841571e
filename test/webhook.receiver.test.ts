/**
 * The receiver core and its HTTP adapters: deduplication by webhook-id,
 * foreign batches acknowledged and ignored, body cap (413), a refused
 * delivery changing nothing, hints waking a poll, forwarding from a user's own
 * server with handleWebhook(), clean shutdown.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { SeenSet } from '../src/webhook/seen-set.js';
import {
  createWebhookReceiver,
  handleWebhook,
  startWebhookReceiver,
  type WebhookEvent,
  type WebhookReceiver,
} from '../src/webhook/index.js';
import { errorCode, eventBody, hmacHeaders, newSecret, post } from './webhook.helpers.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function receiverServer(opts: { secret: string; maxBodyBytes?: number; isOurs?: (n: string, e: WebhookEvent) => boolean }) {
  const server = await startWebhookReceiver({ port: 0, ...opts });
  cleanups.push(() => server.close());
  const hints: Array<[string, WebhookEvent]> = [];
  server.receiver.on('hint', (name, event) => hints.push([name, event]));
  return { server, hints };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

describe('receiver', () => {
  it('a delivery received twice (a retry) gives one hint; both are acknowledged', async () => {
    const secret = newSecret();
    const { server, hints } = await receiverServer({ secret });
    server.receiver.watch('batches/ours1');
    const body = eventBody('ours1');
    const headers = hmacHeaders([secret], body, { id: 'msg_dup' });
    const answers = [await post(server.url, headers, body), await post(server.url, headers, body)];
    // And two at once.
    const concurrent = hmacHeaders([secret], body, { id: 'msg_dup2' });
    answers.push(...(await Promise.all([post(server.url, concurrent, body), post(server.url, concurrent, body)])));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(hints.map(([, e]) => e.id)).toEqual(['msg_dup', 'msg_dup2']);
    expect(server.receiver.stats).toMatchObject({ received: 4, hints: 2, duplicates: 2, rejected: 0 });
  });

  it('an event for a batch that is not ours is acknowledged (2xx) and gives no hint', async () => {
    const secret = newSecret();
    const { server, hints } = await receiverServer({ secret });
    server.receiver.watch('batches/ours1');
    const ignored: WebhookEvent[] = [];
    server.receiver.on('ignored', (e) => ignored.push(e));
    const body = eventBody('someone-elses');
    const answer = await post(server.url, hmacHeaders([secret], body), body);
    expect(answer.status).toBe(200);
    expect(hints).toHaveLength(0);
    expect(ignored.map((e) => e.batchName)).toEqual(['batches/someone-elses']);
    // A ping-like event about no batch is acknowledged too.
    const ping = JSON.stringify({ type: 'webhook.ping', data: {} });
    expect((await post(server.url, hmacHeaders([secret], ping), ping)).status).toBe(200);
    expect(hints).toHaveLength(0);
  });

  it('an isOurs predicate (e.g. on the echoed user metadata) decides ownership', async () => {
    const secret = newSecret();
    const { server, hints } = await receiverServer({ secret, isOurs: (_name, e) => e.userMetadata?.runId === 'run-a' });
    const mine = eventBody('b1', 'batch.succeeded', { runId: 'run-a', chunk: 0 });
    const theirs = eventBody('b2', 'batch.succeeded', { runId: 'run-b', chunk: 0 });
    expect((await post(server.url, hmacHeaders([secret], mine), mine)).status).toBe(200);
    expect((await post(server.url, hmacHeaders([secret], theirs), theirs)).status).toBe(200);
    expect(hints.map(([name]) => name)).toEqual(['batches/b1']);
  });

  it("a caller's throwing listener or isOurs does not turn an accepted delivery into an error", async () => {
    const secret = newSecret();
    const { server } = await receiverServer({
      secret,
      isOurs: () => {
        throw new Error('bug in isOurs');
      },
    });
    server.receiver.watch('batches/ours1');
    server.receiver.on('hint', () => {
      throw new Error('bug in a listener');
    });
    const mine = eventBody('ours1');
    const other = eventBody('b2');
    expect((await post(server.url, hmacHeaders([secret], mine), mine)).status).toBe(200);
    expect((await post(server.url, hmacHeaders([secret], other), other)).status).toBe(200);
    expect(server.receiver.stats).toMatchObject({ hints: 1, ignored: 1 });
    await expect(server.receiver.waitForHint('batches/ours1', 5_000)).resolves.toBe('hint');
  });

  it('a refused delivery changes nothing: the genuine one with the same webhook-id still gives its hint', async () => {
    const secret = newSecret();
    const { server, hints } = await receiverServer({ secret });
    server.receiver.watch('batches/ours1');
    const body = eventBody('ours1');
    const forged = await post(server.url, hmacHeaders([newSecret()], body, { id: 'msg_same' }), body);
    expect(forged.status).toBe(401);
    expect((await post(server.url, hmacHeaders([secret], body, { id: 'msg_same' }), body)).status).toBe(200);
    expect(hints).toHaveLength(1);
  });

  it('answers 413 to a body over the cap, declared or streamed, and gives no hint', async () => {
    const secret = newSecret();
    const { server, hints } = await receiverServer({ secret, maxBodyBytes: 4096 });
    server.receiver.watch('batches/ours1');
    const big = JSON.stringify({ type: 'batch.succeeded', data: { id: 'ours1', pad: 'x'.repeat(64 * 1024) } });
    const declared = await post(server.url, hmacHeaders([secret], big), big);
    expect(declared.status).toBe(413);
    expect(errorCode(declared)).toBe('ERR_WEBHOOK_TOO_LARGE');
    // No content-length: chunked pieces, cut off once past the cap.
    const streamed = await request(server.url, {
      method: 'POST',
      headers: hmacHeaders([secret], big),
      body: Readable.from(
        (function* () {
          for (let i = 0; i < 16; i++) yield Buffer.from(big.slice(i * 4096, (i + 1) * 4096));
        })(),
      ),
    }).then(
      async (r) => ({ status: r.statusCode, text: await r.body.text() }),
      (err: unknown) => ({ status: -1, text: String(err) }),
    );
    expect(streamed.status).toBe(413);
    expect(hints).toHaveLength(0);
    // The server still serves the next delivery.
    const body = eventBody('ours1');
    expect((await post(server.url, hmacHeaders([secret], body), body)).status).toBe(200);
    expect(hints).toHaveLength(1);
  });

  it('serves only POST on its path', async () => {
    const { server } = await receiverServer({ secret: newSecret() });
    const get = await request(server.url, { method: 'GET' });
    await get.body.dump();
    expect(get.statusCode).toBe(405);
    const other = await request(new URL('/elsewhere', server.url), { method: 'POST', body: '{}' });
    await other.body.dump();
    expect(other.statusCode).toBe(404);
  });

  it('closes on abort: the port stops answering and the receiver is closed', async () => {
    const ac = new AbortController();
    const server = await startWebhookReceiver({ port: 0, secret: newSecret(), signal: ac.signal });
    cleanups.push(() => server.close());
    // A kept-alive connection must not hold the server open.
    const first = await request(server.url, { method: 'GET' });
    await first.body.dump();
    ac.abort();
    await server.close();
    expect(server.receiver.closed).toBe(true);
    await expect(request(server.url, { method: 'GET' })).rejects.toThrow();
  });
});

describe('waitForHint', () => {
  function receiver(): WebhookReceiver {
    const r = createWebhookReceiver({ secret: newSecret(), register: false });
    cleanups.push(() => r.close());
    return r;
  }

  it('a hint wakes a waiting poll at once, and one that came between polls wakes the next wait', async () => {
    const secret = newSecret();
    const r = createWebhookReceiver({ secret, register: false });
    cleanups.push(() => r.close());
    r.watch('batches/ours1');
    const body = eventBody('ours1');
    const waiting = r.waitForHint('batches/ours1', 60_000);
    expect((await r.receive(hmacHeaders([secret], body), body)).outcome).toBe('hint');
    await expect(waiting).resolves.toBe('hint');
    // Nobody waiting: kept for the next wait, once.
    await r.receive(hmacHeaders([secret], body), body);
    await expect(r.waitForHint('batches/ours1', 60_000)).resolves.toBe('hint');
    await expect(r.waitForHint('batches/ours1', 20)).resolves.toBe('timeout');
  });

  it('times out, rejects on abort, and resolves "closed" on close', async () => {
    const r = receiver();
    await expect(r.waitForHint('batches/x', 10)).resolves.toBe('timeout');
    const ac = new AbortController();
    const aborted = r.waitForHint('batches/x', 60_000, ac.signal);
    ac.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    const closing = r.waitForHint('batches/x', 60_000);
    r.close();
    await expect(closing).resolves.toBe('closed');
  });
});

describe('handleWebhook (forwarding from an existing server)', () => {
  it('forwards deliveries to the open receivers; 503 when none is running', async () => {
    const secret = newSecret();
    const url = await listen(createServer((req, res) => handleWebhook(req, res)));
    const body = eventBody('ours1');
    const none = await post(url, hmacHeaders([secret], body), body);
    expect(none.status).toBe(503);
    expect(errorCode(none)).toBe('ERR_WEBHOOK_NO_RECEIVER');

    const hints: string[] = [];
    const r = createWebhookReceiver({ secret, onBatchHint: (name) => hints.push(name) });
    cleanups.push(() => r.close());
    r.watch('batches/ours1');
    // A second pipeline with another secret: the delivery is not its, but is taken by the first.
    const other = createWebhookReceiver({ secret: newSecret() });
    cleanups.push(() => other.close());
    expect((await post(url, hmacHeaders([secret], body), body)).status).toBe(200);
    expect((await post(url, hmacHeaders([newSecret()], body), body)).status).toBe(401);
    expect(hints).toEqual(['batches/ours1']);
  });

  it('takes a body a framework kept raw (express.raw), refuses one it already parsed', async () => {
    const secret = newSecret();
    const r = createWebhookReceiver({ secret });
    cleanups.push(() => r.close());
    r.watch('batches/ours1');
    let parse = false;
    // A stand-in for a framework's body middleware: read the body first, then hand over.
    const url = await listen(
      createServer((req: IncomingMessage & { body?: unknown }, res) => {
        const pieces: Buffer[] = [];
        req.on('data', (p: Buffer) => pieces.push(p));
        req.on('end', () => {
          const raw = Buffer.concat(pieces);
          req.body = parse ? (JSON.parse(raw.toString()) as unknown) : raw;
          handleWebhook(req, res);
        });
      }),
    );
    const body = eventBody('ours1');
    expect((await post(url, hmacHeaders([secret], body), body)).status).toBe(200);
    parse = true;
    const parsed = await post(url, hmacHeaders([secret], body), body);
    expect(parsed.status).toBe(500);
    expect(errorCode(parsed)).toBe('ERR_WEBHOOK_RAW_BODY');
    expect(r.stats.hints).toBe(1);
  });
});

describe('SeenSet', () => {
  it('forgets the oldest id past its cap and any id past its TTL', () => {
    let now = 0;
    const seen = new SeenSet(3, 1000, () => now);
    expect(['a', 'b', 'c', 'a'].map((id) => seen.add(id))).toEqual([true, true, true, false]);
    expect(seen.add('d')).toBe(true);
    expect(seen.size).toBe(3);
    expect(seen.add('a')).toBe(true); // evicted by the cap
    now = 5000;
    expect(seen.add('d')).toBe(true); // expired
    expect(seen.size).toBe(1);
  });
});
