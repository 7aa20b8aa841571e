/**
 * startWebhookReceiver: a small HTTP server for deliveries, for a pipeline
 * whose user has no server of their own. Port 0 picks a free port; `url` is
 * what the pipeline sends as webhookConfig.uris when the user gives none.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod/v3';
import { abortError, GeminiBatchError } from '../errors.js';
import { createWebhookHandler } from './http.js';
import { listenOn } from './listen.js';
import { parseOptions } from './options.js';
import { createWebhookReceiver, receiverOptionsSchema, type WebhookReceiver, type WebhookReceiverOptions } from './receiver.js';

export interface StartWebhookReceiverOptions extends WebhookReceiverOptions {
  /** Interface to bind (default 127.0.0.1). Behind a tunnel, loopback is enough; on a public host, 0.0.0.0. */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  /** Path deliveries are POSTed to (default "/"); other paths get 404. */
  path?: string;
  /** An existing receiver to serve (a pipeline's); else one is made from the other options. */
  receiver?: WebhookReceiver;
  /** Closes the server on abort. */
  signal?: AbortSignal;
}

export interface WebhookServer {
  /** `http://host:port/path`: where deliveries are received (the default webhook url). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly receiver: WebhookReceiver;
  /** Stop listening, drop open connections, close the receiver if this server made it. Idempotent. */
  close(): Promise<void>;
}

const serverOptionsSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535),
    path: z.string().startsWith('/').default('/'),
    receiver: z.custom<WebhookReceiver>((v) => typeof v === 'object' && v !== null && typeof (v as WebhookReceiver).receive === 'function').optional(),
    signal: z.instanceof(AbortSignal).optional(),
  })
  .passthrough();

/** The url a remote sender can use when the server binds a wildcard address: loopback is the honest guess. */
function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

export async function startWebhookReceiver(opts: StartWebhookReceiverOptions): Promise<WebhookServer> {
  const o = parseOptions('startWebhookReceiver', serverOptionsSchema, opts);
  if (o.signal?.aborted) throw abortError(o.signal);
  const { host: _h, port: _p, path: _pa, receiver: given, signal: _s, ...receiverOptions } = opts;
  // Fail on bad receiver options before a port is taken; and do not silently
  // drop options that only a receiver made here would have used.
  if (given === undefined) parseOptions('startWebhookReceiver', receiverOptionsSchema, receiverOptions);
  else if (Object.keys(receiverOptions).length > 0) {
    throw new GeminiBatchError(
      'ERR_INVALID_OPTIONS',
      `startWebhookReceiver: ${Object.keys(receiverOptions).join(', ')} cannot be combined with receiver (configure the receiver instead)`,
    );
  }
  // A receiver made here checks JWT audiences against our own url, known only
  // once bound: it is made after listen(), and requests wait for it (503).
  let receiver: WebhookReceiver | undefined = given;
  let handler = receiver === undefined ? undefined : createWebhookHandler(receiver);

  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path !== o.path) return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"NOT_FOUND"}}');
    if (req.method !== 'POST') {
      return void res.writeHead(405, { allow: 'POST', 'content-type': 'application/json' }).end('{"error":{"code":"METHOD_NOT_ALLOWED"}}');
    }
    if (handler === undefined) return void res.writeHead(503).end();
    handler(req, res);
  });
  // A delivery is one small POST; a slow or idle client must not hold a socket for long.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;

  await listenOn(server, o.host, o.port);
  const port = (server.address() as AddressInfo).port;
  const url = `http://${urlHost(o.host)}:${port}${o.path}`;
  const ownsReceiver = given === undefined;
  if (receiver === undefined) {
    try {
      receiver = createWebhookReceiver({ ...receiverOptions, url: receiverOptions.url ?? url });
    } catch (err) {
      server.close();
      throw err;
    }
    handler = createWebhookHandler(receiver);
  }

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= new Promise<void>((resolve) => {
      o.signal?.removeEventListener('abort', onAbort);
      if (ownsReceiver) receiver!.close();
      server.close(() => resolve());
      server.closeAllConnections();
    }));
  const onAbort = () => void close();
  o.signal?.addEventListener('abort', onAbort, { once: true });

  return { url, host: o.host, port, receiver, close };
}
