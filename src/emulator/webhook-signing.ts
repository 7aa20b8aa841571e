/**
 * How the service signs webhook deliveries. Dynamic (per-batch) webhooks: an
 * RS256 JWT in `webhook-signature`, its `kid` naming a key of the JWKS served
 * at /.well-known/jwks.json (a key pair generated at start). Static (project)
 * webhooks: Standard Webhooks HMAC-SHA256 with the webhook's `whsec_` secrets,
 * one `v1,<base64>` per live secret, space-separated during a rotation.
 * The crypto is jose's and standardwebhooks', not ours.
 */
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { Webhook } from 'standardwebhooks';
import { randomId } from './prng.js';

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

/** A JWT lives this long: a receiver checks `exp`. */
export const JWT_TTL_SECONDS = 300;

interface Keys {
  privateKey: PrivateKey;
  publicJwk: JWK;
  /** A second key under the same kid: what a forger without our key would sign with. */
  forgerKey: PrivateKey;
}

/**
 * Keys are made on first use (a JWKS fetch or a dynamic delivery), not at
 * start: RSA key generation costs tens of ms, and most emulators never sign.
 */
export class WebhookSigner {
  readonly kid = randomId(16);
  private keys: Promise<Keys> | undefined;

  private load(): Promise<Keys> {
    return (this.keys ??= (async () => {
      const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
      const forger = await generateKeyPair('RS256');
      const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid: this.kid, alg: 'RS256', use: 'sig' };
      return { privateKey, publicJwk, forgerKey: forger.privateKey };
    })());
  }

  /** The body of GET /.well-known/jwks.json. */
  async jwks(): Promise<{ keys: JWK[] }> {
    return { keys: [(await this.load()).publicJwk] };
  }

  /**
   * The dynamic webhook's JWT: RS256, kid in the header; claims iss (the
   * emulator's base URL, as the service's would be its own), aud (the endpoint
   * URL), iat, exp. `forged` signs with a key that is not in the JWKS.
   */
  async jwt(issuer: string, audience: string, forged = false): Promise<string> {
    const keys = await this.load();
    return new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: this.kid, typ: 'JWT' })
      .setIssuer(issuer)
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime(`${JWT_TTL_SECONDS}s`)
      .sign(forged ? keys.forgerKey : keys.privateKey);
  }
}

/** A new static webhook secret: `whsec_` + base64 of 32 random bytes. */
export function newSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** `v1,<base64>` per secret, space-separated (several during a rotation). */
export function hmacSignature(secrets: readonly string[], msgId: string, timestampSeconds: number, body: string): string {
  const at = new Date(timestampSeconds * 1000);
  return secrets.map((s) => new Webhook(s).sign(msgId, at, body)).join(' ');
}
