/**
 * Maps a request to its handler, then applies, in order: the route counter,
 * the API key check, injected HTTP errors, and Google-style error bodies.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context } from './context.js';
import { originOf } from './context.js';
import type { BatchRoutes } from './routes-batches.js';
import { countTokensRoute } from './count-tokens.js';
import { deleteFile, downloadFile, getFile, listFiles } from './routes-files.js';
import type { EmulatorRoute } from './types.js';
import type { Uploads } from './uploads.js';
import type { WebhookRoutes } from './routes-webhooks.js';
import type { WebhookSigner } from './webhook-signing.js';
import { HttpError, notFound, sendError, sendJson } from './wire.js';

interface Call {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  m: RegExpExecArray;
  origin: string;
}

interface Route {
  method: string;
  path: RegExp;
  group: EmulatorRoute | 'internal';
  /** Upload pieces are authorised by their upload id, not the key (the python SDK sends none). */
  keyless?: boolean;
  /** Extra condition on the query string. */
  when?: (url: URL) => boolean;
  handle: (c: Call) => void | Promise<void>;
}

const V = '(?:v1beta|v1alpha|v1)';
const ID = '([a-z0-9][a-z0-9-]*)';

const API_KEY_INVALID = (): HttpError =>
  new HttpError(400, 'API key not valid. Please pass a valid API key.', {
    details: [
      {
        '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
        reason: 'API_KEY_INVALID',
        domain: 'googleapis.com',
        metadata: { service: 'generativelanguage.googleapis.com' },
      },
    ],
  });

export function createRouter(
  ctx: Context,
  uploads: Uploads,
  batches: BatchRoutes,
  webhooks: { routes: WebhookRoutes; signer: WebhookSigner },
  fallbackOrigin: () => string,
): (req: IncomingMessage, res: ServerResponse) => void {
  const wh = webhooks.routes;
  const routes: Route[] = [
    {
      method: 'POST',
      path: new RegExp(`^/upload/${V}/files$`),
      group: 'upload',
      keyless: true,
      when: (u) => u.searchParams.has('upload_id'),
      handle: (c) => uploads.command(c.req, c.res, c.url.searchParams.get('upload_id') ?? ''),
    },
    {
      method: 'POST',
      path: new RegExp(`^/upload/${V}/files$`),
      group: 'upload',
      handle: (c) => {
        const cmd = String(c.req.headers['x-goog-upload-command'] ?? '').toLowerCase();
        if (cmd !== 'start') {
          throw new HttpError(400, 'Only resumable uploads are supported: send X-Goog-Upload-Protocol: resumable and X-Goog-Upload-Command: start.');
        }
        return uploads.start(c.req, c.res, c.origin);
      },
    },
    { method: 'GET', path: new RegExp(`^/${V}/files$`), group: 'files', handle: (c) => listFiles(ctx, c.res, c.url, c.origin) },
    {
      method: 'GET',
      path: new RegExp(`^/(?:download/)?${V}/files/${ID}:download$`),
      group: 'download',
      handle: (c) => downloadFile(ctx, c.req, c.res, c.m[1]!),
    },
    { method: 'GET', path: new RegExp(`^/${V}/files/${ID}$`), group: 'files', handle: (c) => getFile(ctx, c.res, c.m[1]!, c.origin) },
    { method: 'DELETE', path: new RegExp(`^/${V}/files/${ID}$`), group: 'files', handle: (c) => deleteFile(ctx, c.res, c.m[1]!) },
    {
      method: 'POST',
      path: new RegExp(`^/${V}/((?:models|tunedModels)/[^/:]+):(batchGenerateContent|asyncBatchEmbedContent)$`),
      group: 'create',
      handle: (c) =>
        batches.create(c.req, c.res, decodeURIComponent(c.m[1]!), c.m[2] === 'asyncBatchEmbedContent' ? 'embed' : 'generate'),
    },
    {
      method: 'POST',
      path: new RegExp(`^/${V}/((?:models|tunedModels)/[^/:]+):countTokens$`),
      group: 'countTokens',
      handle: (c) => countTokensRoute(c.req, c.res, decodeURIComponent(c.m[1]!)),
    },
    { method: 'GET', path: new RegExp(`^/${V}/batches$`), group: 'list', handle: (c) => batches.list(c.res, c.url) },
    { method: 'GET', path: new RegExp(`^/${V}/batches/${ID}$`), group: 'get', handle: (c) => batches.get(c.res, c.m[1]!) },
    { method: 'POST', path: new RegExp(`^/${V}/batches/${ID}:cancel$`), group: 'cancel', handle: (c) => batches.cancel(c.res, c.m[1]!) },
    { method: 'DELETE', path: new RegExp(`^/${V}/batches/${ID}$`), group: 'delete', handle: (c) => batches.delete(c.res, c.m[1]!) },
    { method: 'POST', path: new RegExp(`^/${V}/webhooks$`), group: 'webhooks', handle: (c) => wh.create(c.req, c.res) },
    { method: 'GET', path: new RegExp(`^/${V}/webhooks$`), group: 'webhooks', handle: (c) => wh.list(c.res, c.url) },
    { method: 'GET', path: new RegExp(`^/${V}/webhooks/${ID}$`), group: 'webhooks', handle: (c) => wh.get(c.res, c.m[1]!) },
    { method: 'PATCH', path: new RegExp(`^/${V}/webhooks/${ID}$`), group: 'webhooks', handle: (c) => wh.update(c.req, c.res, c.m[1]!, c.url) },
    { method: 'DELETE', path: new RegExp(`^/${V}/webhooks/${ID}$`), group: 'webhooks', handle: (c) => wh.delete(c.res, c.m[1]!) },
    { method: 'POST', path: new RegExp(`^/${V}/webhooks/${ID}:ping$`), group: 'webhooks', handle: (c) => wh.ping(c.req, c.res, c.m[1]!) },
    {
      method: 'POST',
      path: new RegExp(`^/${V}/webhooks/${ID}:rotateSigningSecret$`),
      group: 'webhooks',
      handle: (c) => wh.rotate(c.req, c.res, c.m[1]!),
    },
    {
      // Public, like Google's: receivers fetch it without a key.
      method: 'GET',
      path: /^\/\.well-known\/jwks\.json$/,
      group: 'internal',
      keyless: true,
      handle: async (c) => sendJson(c.res, 200, await webhooks.signer.jwks(), { 'cache-control': 'public, max-age=3600' }),
    },
    {
      method: 'GET',
      path: /^\/_emulator\/counters$/,
      group: 'internal',
      keyless: true,
      handle: (c) => sendJson(c.res, 200, ctx.counters.snapshot()),
    },
  ];

  const match = (req: IncomingMessage, url: URL): { route: Route; m: RegExpExecArray } | undefined => {
    for (const route of routes) {
      if (route.method !== req.method) continue;
      const m = route.path.exec(url.pathname);
      if (m && (!route.when || route.when(url))) return { route, m };
    }
    return undefined;
  };

  const checkKey = (req: IncomingMessage, url: URL): void => {
    const want = ctx.settings.apiKey;
    if (want === undefined) return;
    const header = req.headers['x-goog-api-key'];
    const got = (Array.isArray(header) ? header[0] : header) ?? url.searchParams.get('key') ?? undefined;
    if (got !== want) throw API_KEY_INVALID();
  };

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://emulator.invalid');
    const found = match(req, url);
    const uploadId = url.searchParams.get('upload_id');
    const fail = (err: unknown): void => {
      const e = err instanceof HttpError ? err : new HttpError(500, `Internal emulator error: ${(err as Error).message}`);
      if (uploadId !== null && found?.route.group === 'upload') uploads.fail(res, uploadId, e);
      else sendError(res, e);
    };
    try {
      if (!found) {
        ctx.counters.route('unknown');
        throw notFound(`Route ${req.method ?? ''} ${url.pathname}`);
      }
      ctx.counters.route(found.route.group);
      if (!found.route.keyless) checkKey(req, url);
      if (found.route.group !== 'internal') {
        const injected = ctx.faults.httpError(found.route.group);
        if (injected) {
          ctx.counters.add('injectedErrors');
          if (injected.code === 0) {
            // Status 0 in errorStatuses: the connection drops with no answer at all.
            req.socket.destroy();
            return;
          }
          throw injected;
        }
      }
      const origin = originOf(req, fallbackOrigin());
      const out = found.route.handle({ req, res, url, m: found.m, origin });
      if (out) out.catch(fail);
    } catch (err) {
      fail(err);
    }
  };
}
