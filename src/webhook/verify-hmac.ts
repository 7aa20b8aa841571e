/**
 * Static (project) webhook deliveries: Standard Webhooks HMAC-SHA256 over
 * `id.timestamp.body`, checked by the standardwebhooks package (constant-time
 * compare, several `v1,` signatures accepted during a rotation).
 */
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { WebhookError } from './errors.js';

/** Standard Webhooks' replay window, which the service documents too. */
export const HMAC_TOLERANCE_SEC = 5 * 60;

export interface HmacHeaders {
  id: string | undefined;
  timestamp: string | undefined;
  signature: string;
}

/** Throws a WebhookError unless one of `secrets` signed exactly these bytes within the window. */
export function verifyHmac(secrets: readonly Webhook[], headers: HmacHeaders, rawBody: Buffer, now = Date.now()): void {
  if (secrets.length === 0) {
    throw new WebhookError('ERR_WEBHOOK_SIGNATURE', 'HMAC-signed webhook delivery, but no secret (whsec_...) is configured');
  }
  if (!headers.id || !headers.timestamp) {
    throw new WebhookError('ERR_WEBHOOK_SIGNATURE', 'HMAC-signed webhook delivery without webhook-id or webhook-timestamp');
  }
  // Checked here too (the library checks it again) so that a stale delivery
  // gets its own code instead of a message to match on.
  const ts = Number(headers.timestamp);
  if (!/^\d+$/.test(headers.timestamp) || Math.abs(now / 1000 - ts) > HMAC_TOLERANCE_SEC) {
    throw new WebhookError('ERR_WEBHOOK_EXPIRED', 'webhook-timestamp is more than 5 minutes off');
  }
  const wire = { 'webhook-id': headers.id, 'webhook-timestamp': headers.timestamp, 'webhook-signature': headers.signature };
  for (const secret of secrets) {
    try {
      secret.verify(rawBody, wire, { jsonParse: false });
      return;
    } catch (err) {
      if (!(err instanceof WebhookVerificationError)) throw err;
    }
  }
  throw new WebhookError('ERR_WEBHOOK_SIGNATURE', 'webhook HMAC signature does not match (wrong secret or altered body)');
}

export function hmacKeys(secret: string | readonly string[] | undefined): Webhook[] {
  if (secret === undefined) return [];
  return (typeof secret === 'string' ? [secret] : secret).map((s) => new Webhook(s));
}
