/**
 * The event envelope: `{"type": "batch.succeeded", "version": "v1",
 * "timestamp": "...", "data": {"id": ..., ...}}`. Read liberally (unknown
 * fields kept in `raw`, unknown types passed through) because only the
 * signature makes it trustworthy, and even then it is only a hint.
 */
import { z } from 'zod/v3';
import { WebhookError } from './errors.js';

export type WebhookEventType = 'batch.succeeded' | 'batch.failed' | 'batch.expired' | (string & {});

/** A verified delivery. A hint that a batch changed: GET the batch to learn its state and results. */
export interface WebhookEvent {
  /** The `webhook-id` header: the same for every retry of one delivery (dedupe on it). */
  id: string;
  type: WebhookEventType;
  /** `batches/<id>` from `data.id`; undefined for an event about no batch (a ping). */
  batchName: string | undefined;
  /** The `userMetadata` given in the batch's webhookConfig, echoed back. */
  userMetadata: Record<string, unknown> | undefined;
  /** How the delivery was signed: 'jwt' (dynamic, per batch) or 'hmac' (static, project webhook). */
  scheme: 'jwt' | 'hmac';
  /** The whole parsed body. */
  raw: Record<string, unknown>;
}

const record = z.record(z.unknown());
const envelopeSchema = z
  .object({
    type: z.string().min(1),
    data: z
      .object({ id: z.string().min(1).optional(), name: z.string().min(1).optional() })
      .passthrough()
      .optional(),
  })
  .passthrough();

export function parseEnvelope(rawBody: Buffer): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(rawBody.toString('utf8'));
  } catch {
    throw new WebhookError('ERR_WEBHOOK_PAYLOAD', 'webhook body is not JSON');
  }
  const parsed = envelopeSchema.safeParse(json);
  if (!parsed.success) throw new WebhookError('ERR_WEBHOOK_PAYLOAD', 'webhook body is not an event envelope (no "type")');
  return parsed.data;
}

/** `data.id` may come bare ("abc") or as a resource name ("batches/abc"). */
function batchNameOf(data: { id?: string; name?: string } | undefined): string | undefined {
  const id = data?.id ?? data?.name;
  if (id === undefined) return undefined;
  return id.startsWith('batches/') ? id : `batches/${id}`;
}

/** Where user_metadata sits is not documented: accept the envelope or its data, snake or camel case. */
function userMetadataOf(envelope: Record<string, unknown>): Record<string, unknown> | undefined {
  const data = record.safeParse(envelope.data);
  const places = [envelope, data.success ? data.data : {}];
  for (const place of places) {
    for (const key of ['user_metadata', 'userMetadata']) {
      const value = record.safeParse(place[key]);
      if (value.success) return value.data;
    }
  }
  return undefined;
}

export function toWebhookEvent(id: string, scheme: WebhookEvent['scheme'], envelope: Record<string, unknown>): WebhookEvent {
  const typed = envelopeSchema.parse(envelope);
  return {
    id,
    type: typed.type,
    batchName: batchNameOf(typed.data),
    userMetadata: userMetadataOf(envelope),
    scheme,
    raw: envelope,
  };
}
