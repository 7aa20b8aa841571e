/**
 * Self-contained webhook senders for the receiver tests: a JWKS server (the
 * service's /.well-known/jwks.json) with RS256 keys we hold, a JWT signer, a
 * Standard Webhooks signer, and a plain HTTP POST.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { Webhook } from 'standardwebhooks';
import { request } from 'undici';

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function newSigningKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  return { kid, privateKey, publicJwk };
}

export interface JwksServer {
  /** The service base URL: the JWKS is at `${baseUrl}/.well-known/jwks.json`. */
  baseUrl: string;
  /** How many times the JWKS was fetched. */
  fetches(): number;
  /** Publish another key (a rotation). */
  publish(key: SigningKey): void;
  /** Answer every JWKS request with this status instead (simulates an outage). */
  failWith(status: number | undefined): void;
  close(): Promise<void>;
}

export async function startJwksServer(keys: SigningKey[]): Promise<JwksServer> {
  const published = [...keys];
  let fetches = 0;
  let failStatus: number | undefined;
  const server = createServer((req, res) => {
    if (req.url !== '/.well-known/jwks.json') return void res.writeHead(404).end();
    fetches++;
    if (failStatus !== undefined) return void res.writeHead(failStatus).end();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: published.map((k) => k.publicJwk) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    fetches: () => fetches,
    publish: (key) => void published.push(key),
    failWith: (status) => void (failStatus = status),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export function eventBody(batchId: string, type = 'batch.succeeded', userMetadata?: Record<string, unknown>): string {
  return JSON.stringify({
    type,
    version: 'v1',
    timestamp: new Date().toISOString(),
    data: { id: batchId, output_file_uri: `files/out-${batchId}` },
    ...(userMetadata ? { user_metadata: userMetadata } : {}),
  });
}

export interface JwtClaims {
  /** Seconds from now; negative for an expired token; null for no exp claim. */
  expiresIn?: number | null;
  aud?: string;
  /** The body the token vouches for (its SHA-256 goes in body_sha256); omit for none. */
  body?: string;
  kid?: string;
}

export async function signJwt(key: SigningKey, claims: JwtClaims = {}): Promise<string> {
  const payload: Record<string, unknown> = {};
  if (claims.body !== undefined) payload.body_sha256 = createHash('sha256').update(claims.body).digest('base64url');
  const now = Math.floor(Date.now() / 1000);
  let jwt = new SignJWT(payload)
    .setProtectedHeader({ alg: 'RS256', kid: claims.kid ?? key.kid, typ: 'JWT' })
    .setIssuedAt(now)
    .setIssuer('https://generativelanguage.googleapis.com');
  if (claims.expiresIn !== null) jwt = jwt.setExpirationTime(now + (claims.expiresIn ?? 300));
  if (claims.aud !== undefined) jwt = jwt.setAudience(claims.aud);
  return jwt.sign(key.privateKey);
}

export function jwtHeaders(token: string, id = `msg_${randomUUID()}`): Record<string, string> {
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
    'webhook-signature': token,
  };
}

export function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** Standard Webhooks headers for `body`, signed by each secret (several during a rotation). */
export function hmacHeaders(
  secrets: string[],
  body: string,
  opts: { id?: string; at?: Date } = {},
): Record<string, string> {
  const id = opts.id ?? `msg_${randomUUID()}`;
  const at = opts.at ?? new Date();
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': secrets.map((s) => new Webhook(s).sign(id, at, body)).join(' '),
  };
}

export interface Answer {
  status: number;
  json: unknown;
}

export async function post(url: string, headers: Record<string, string>, body: string | Buffer): Promise<Answer> {
  const res = await request(url, { method: 'POST', headers, body });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.statusCode, json };
}

export function errorCode(answer: Answer): unknown {
  return (answer.json as { error?: { code?: unknown } }).error?.code;
}
