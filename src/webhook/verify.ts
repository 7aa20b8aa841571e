/**
 * verifyWebhook(headers, rawBody, opts): one delivery in, a verified event out
 * (or a WebhookError). The scheme is chosen by the form of `webhook-signature`:
 * `v1,<base64>` entries are Standard Webhooks HMAC (a static project webhook),
 * a compact JWT is the RS256 signature of a dynamic (per-batch) webhook.
 */
import { createHash } from 'node:crypto';
import type { Webhook } from 'standardwebhooks';
import { WebhookError } from './errors.js';
import { parseEnvelope, toWebhookEvent, type WebhookEvent } from './event.js';
import {
  DEFAULT_SERVICE_BASE_URL,
  parseOptions,
  webhookVerifyOptionsSchema,
  type ResolvedWebhookVerifyOptions,
  type WebhookVerifyOptions,
} from './options.js';
import { hmacKeys, verifyHmac } from './verify-hmac.js';
import { sharedJwks, verifyJwt, type JwksGetter } from './verify-jwt.js';

/** Node's IncomingHttpHeaders, a WHATWG Headers, or any plain header record. */
export type WebhookHeaders =
  | { get(name: string): string | null }
  | Readonly<Record<string, string | readonly string[] | undefined>>;

export type WebhookVerifier = (headers: WebhookHeaders, rawBody: Buffer | string) => Promise<WebhookEvent>;

const HMAC_FORM = /^v1a?,\S+( v\d+a?,\S+)*$/;
const JWT_FORM = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** The JWKS location for a service base URL: `<baseUrl>/.well-known/jwks.json`. */
export function jwksUrlFor(baseUrl: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/.well-known/jwks.json`;
}

function resolveJwksUrl(o: ResolvedWebhookVerifyOptions): string {
  const env = process.env.GOOGLE_GEMINI_BASE_URL?.trim();
  return o.jwksUrl ?? jwksUrlFor(o.baseUrl ?? (env && URL.canParse(env) ? env : DEFAULT_SERVICE_BASE_URL));
}

/**
 * A verifier bound to one configuration: options are validated here, once
 * (ERR_INVALID_OPTIONS), secrets decoded once, the JWKS cache shared.
 */
export function createWebhookVerifier(opts: WebhookVerifyOptions = {}): WebhookVerifier {
  const o = parseOptions('createWebhookVerifier', webhookVerifyOptionsSchema, opts);
  const secrets = hmacKeys(o.secret);
  const jwksUrl = resolveJwksUrl(o);
  // Created lazily: an HMAC-only receiver never needs the JWKS.
  let jwks: JwksGetter | undefined;
  return async (headers, rawBody) => {
    const body = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody;
    const h = readHeaders(headers);
    if (h.signature === undefined) {
      throw new WebhookError('ERR_WEBHOOK_SIGNATURE', 'webhook delivery without a webhook-signature header');
    }
    const signature = h.signature.trim();
    const token = jwtIn(signature);
    if (token === undefined && HMAC_FORM.test(signature)) return verifyHmacDelivery(secrets, h, signature, body);
    if (token !== undefined) {
      jwks ??= sharedJwks(jwksUrl, o.jwks);
      const claims = await verifyJwt(token, body, { jwks, url: o.url, clockToleranceSec: o.clockToleranceSec });
      const id = h.id ?? (typeof claims.jti === 'string' ? claims.jti : createHash('sha256').update(token).digest('base64url'));
      return toWebhookEvent(id, 'jwt', parseEnvelope(body));
    }
    throw new WebhookError('ERR_WEBHOOK_SIGNATURE', 'webhook-signature is neither "v1,<base64>" entries nor a JWT');
  };
}

/**
 * The JWT of a dynamic delivery: the whole header, or (read liberally, the
 * form is not documented) after a `Bearer ` or a versioned `v1,` prefix. An
 * HMAC signature is base64 and never has the two dots of a compact JWT.
 */
function jwtIn(signature: string): string | undefined {
  const bare = signature.replace(/^Bearer\s+/i, '').replace(/^v\d+[a-z]?,/, '');
  return JWT_FORM.test(bare) ? bare : undefined;
}

function verifyHmacDelivery(secrets: Webhook[], h: DeliveryHeaders, signature: string, body: Buffer): WebhookEvent {
  verifyHmac(secrets, { id: h.id, timestamp: h.timestamp, signature }, body);
  return toWebhookEvent(h.id!, 'hmac', parseEnvelope(body));
}

// Verifiers for verifyWebhook() callers that pass the same options object each time.
const verifiers = new WeakMap<object, WebhookVerifier>();
let defaultVerifier: WebhookVerifier | undefined;

/**
 * Verify one delivery: for a user's own server (Express with `express.raw()`,
 * Fastify with a raw body, a serverless function). `rawBody` must be the exact
 * bytes received. Resolves to the event, or rejects with a WebhookError whose
 * `status` is the HTTP status to answer (401 forged/expired, 503 keys unreachable).
 * For many deliveries, createWebhookVerifier() once is cheaper; passing the
 * same options object each time has the same effect.
 */
export async function verifyWebhook(
  headers: WebhookHeaders,
  rawBody: Buffer | string,
  opts?: WebhookVerifyOptions,
): Promise<WebhookEvent> {
  let verify: WebhookVerifier;
  if (opts === undefined) {
    verify = defaultVerifier ??= createWebhookVerifier();
  } else {
    verify = verifiers.get(opts) ?? createWebhookVerifier(opts);
    verifiers.set(opts, verify);
  }
  return verify(headers, rawBody);
}

interface DeliveryHeaders {
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
}

function readHeaders(headers: WebhookHeaders): DeliveryHeaders {
  const get = (name: string): string | undefined => {
    if (typeof headers.get === 'function') return (headers as { get(n: string): string | null }).get(name) ?? undefined;
    const record = headers as Readonly<Record<string, string | readonly string[] | undefined>>;
    const key = Object.keys(record).find((k) => k.toLowerCase() === name);
    const value = key === undefined ? undefined : record[key];
    // A repeated signature header is several signatures, as a space-separated list is.
    return Array.isArray(value) ? value.join(' ') : (value as string | undefined);
  };
  const nonEmpty = (s: string | undefined) => (s === undefined || s.trim() === '' ? undefined : s.trim());
  return {
    id: nonEmpty(get('webhook-id')),
    timestamp: nonEmpty(get('webhook-timestamp')),
    signature: nonEmpty(get('webhook-signature')),
  };
}
