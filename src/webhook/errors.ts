/**
 * Why a delivery was refused. Each code maps to the HTTP status the receiver
 * answers with, chosen for what the sender should do next: 401 (never retry
 * a forgery into success), 400 (a verified body we cannot read), 413 (too
 * big), 503 (we could not check it now; the service retries for 24 h).
 */
import { GeminiBatchError } from '../errors.js';

export type WebhookErrorCode =
  /** No signature, a signature that does not verify, an unknown key, a wrong secret, a foreign audience, a body the signature does not cover. */
  | 'ERR_WEBHOOK_SIGNATURE'
  /** A JWT past its expiry, or a Standard Webhooks timestamp more than 5 minutes off. */
  | 'ERR_WEBHOOK_EXPIRED'
  /** Signed, but not an event envelope (not JSON, no `type`). */
  | 'ERR_WEBHOOK_PAYLOAD'
  /** The body is larger than the receiver accepts. */
  | 'ERR_WEBHOOK_TOO_LARGE'
  /** The JWKS could not be fetched, so nothing could be verified: try again later. */
  | 'ERR_WEBHOOK_JWKS'
  /** handleWebhook()/receiveWebhook() called while no receiver is running in this process. */
  | 'ERR_WEBHOOK_NO_RECEIVER'
  /** The request body was already parsed by a framework (e.g. express.json()): the signed bytes are gone. */
  | 'ERR_WEBHOOK_RAW_BODY';

const STATUS: Record<WebhookErrorCode, number> = {
  ERR_WEBHOOK_SIGNATURE: 401,
  ERR_WEBHOOK_EXPIRED: 401,
  ERR_WEBHOOK_PAYLOAD: 400,
  ERR_WEBHOOK_TOO_LARGE: 413,
  ERR_WEBHOOK_JWKS: 503,
  ERR_WEBHOOK_NO_RECEIVER: 503,
  ERR_WEBHOOK_RAW_BODY: 500,
};

export class WebhookError extends GeminiBatchError {
  declare readonly code: WebhookErrorCode;
  /** The HTTP status a receiver answers this delivery with. */
  readonly status: number;
  constructor(code: WebhookErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'WebhookError';
    this.status = STATUS[code];
  }
}

export function isWebhookError(err: unknown): err is WebhookError {
  return err instanceof WebhookError;
}
