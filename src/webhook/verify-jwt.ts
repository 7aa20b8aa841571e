/**
 * Dynamic (per-batch) webhook deliveries: an RS256 JWT in `webhook-signature`,
 * its key picked by `kid` from the service's JWKS. jose does the crypto, the
 * JWKS cache and the one refetch on an unknown kid (rate-limited by its
 * cooldown). The claims are undocumented, so: strict on the signature and the
 * expiry (`exp` required), liberal elsewhere (aud checked only when present;
 * the body checked against the token only when the token says something about it).
 */
import { createHash } from 'node:crypto';
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import { WebhookError } from './errors.js';

export type JwksGetter = ReturnType<typeof createRemoteJWKSet>;

export interface JwksTiming {
  cacheMaxAgeMs: number;
  cooldownMs: number;
  timeoutMs: number;
}

// One JWKS cache per (url, timing) for the whole process: verifyWebhook() is
// called per delivery and must not fetch the JWKS each time. Few distinct
// URLs ever exist; the cap only guards against a caller that makes many.
const MAX_CACHED_JWKS = 16;
const jwksByKey = new Map<string, JwksGetter>();

export function sharedJwks(url: string, timing: JwksTiming): JwksGetter {
  const key = JSON.stringify([url, timing.cacheMaxAgeMs, timing.cooldownMs, timing.timeoutMs]);
  let jwks = jwksByKey.get(key);
  if (jwks === undefined) {
    jwks = createRemoteJWKSet(new URL(url), {
      cacheMaxAge: timing.cacheMaxAgeMs,
      cooldownDuration: timing.cooldownMs,
      timeoutDuration: timing.timeoutMs,
    });
    if (jwksByKey.size >= MAX_CACHED_JWKS) jwksByKey.delete(jwksByKey.keys().next().value!);
    jwksByKey.set(key, jwks);
  }
  return jwks;
}

/** Claim names under which a signer may carry a SHA-256 of the body it signed. */
const BODY_DIGEST_CLAIMS = ['body_sha256', 'payload_sha256', 'body_hash', 'sha256'] as const;

export interface JwtCheck {
  jwks: JwksGetter;
  /** The configured delivery url; compared with `aud` when the token has one. */
  url: string | undefined;
  clockToleranceSec: number;
}

export async function verifyJwt(token: string, rawBody: Buffer, check: JwtCheck): Promise<JWTPayload> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, check.jwks, {
      algorithms: ['RS256'],
      requiredClaims: ['exp'],
      clockTolerance: check.clockToleranceSec,
    }));
  } catch (err) {
    throw fromJose(err);
  }
  if (check.url !== undefined && payload.aud !== undefined) {
    const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    if (!audiences.some((aud) => sameUrl(aud, check.url!))) {
      throw new WebhookError('ERR_WEBHOOK_SIGNATURE', 'webhook JWT is addressed to another url (aud)');
    }
  }
  checkBodyBinding(payload, rawBody);
  return payload;
}

/**
 * A token that names a digest of the body, or carries the event itself, must
 * agree with the body we received: else a captured token could carry any body.
 */
function checkBodyBinding(payload: JWTPayload, rawBody: Buffer): void {
  for (const claim of BODY_DIGEST_CLAIMS) {
    const value = payload[claim];
    if (typeof value !== 'string') continue;
    const digest = createHash('sha256').update(rawBody).digest();
    const forms = [digest.toString('base64url'), digest.toString('base64'), digest.toString('hex')];
    if (!forms.includes(value.replace(/=+$/, '')) && !forms.includes(value)) {
      throw new WebhookError('ERR_WEBHOOK_SIGNATURE', `webhook body does not match the JWT's ${claim}`);
    }
    return;
  }
  if (typeof payload.type === 'string') {
    const body = parseOrUndefined(rawBody);
    const tokenId = idOf(payload.data);
    if (body === undefined || body.type !== payload.type || (tokenId !== undefined && idOf(body.data) !== tokenId)) {
      throw new WebhookError('ERR_WEBHOOK_SIGNATURE', 'webhook body does not match the event in the JWT');
    }
  }
}

function parseOrUndefined(rawBody: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(rawBody.toString('utf8'));
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function idOf(data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const id = (data as { id?: unknown }).id;
  return typeof id === 'string' ? id : undefined;
}

/** https://x/hook and https://x/hook/ are the same endpoint; so are differently-cased hosts. */
function sameUrl(a: string, b: string): boolean {
  const norm = (s: string) => (URL.canParse(s) ? new URL(s).href : s).replace(/\/+$/, '');
  return norm(a) === norm(b);
}

function fromJose(err: unknown): WebhookError {
  if (err instanceof errors.JWTExpired) {
    return new WebhookError('ERR_WEBHOOK_EXPIRED', 'webhook JWT has expired', { cause: err });
  }
  // Could not get the keys at all (network, timeout, not a JWKS): nothing was
  // judged, so answer "try later", never "forged".
  const unreachable =
    !(err instanceof errors.JOSEError) ||
    err instanceof errors.JWKSTimeout ||
    err instanceof errors.JWKSInvalid ||
    err.code === 'ERR_JOSE_GENERIC';
  if (unreachable) {
    return new WebhookError('ERR_WEBHOOK_JWKS', 'could not fetch the webhook signing keys (JWKS)', { cause: err });
  }
  if (err instanceof errors.JWKSNoMatchingKey) {
    return new WebhookError('ERR_WEBHOOK_SIGNATURE', 'webhook JWT is signed with a key (kid) the JWKS does not have', { cause: err });
  }
  return new WebhookError('ERR_WEBHOOK_SIGNATURE', `webhook JWT does not verify (${err.code})`, { cause: err });
}
