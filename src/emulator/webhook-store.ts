/**
 * Static (project-level) webhooks of the WebhookService, snake_case on the
 * wire like the service: {id, name, uri, subscribed_events, state,
 * create_time, update_time, signing_secrets}; the secret itself is shown once,
 * as new_signing_secret on create (and as `secret` from a rotation).
 */
import { randomId } from './prng.js';
import { newSigningSecret } from './webhook-signing.js';
import { invalid, isoTimeNanos, isRecord, notFound } from './wire.js';

export const WEBHOOK_EVENTS = [
  'batch.succeeded',
  'batch.expired',
  'batch.failed',
  'interaction.requires_action',
  'interaction.completed',
  'interaction.failed',
  'video.generated',
] as const;

/** After a rotation with revoke_previous_secrets_after_h24 the old secret signs for 24 h more. */
const PREVIOUS_SECRET_TTL_MS = 24 * 3600 * 1000;

interface Secret {
  value: string;
  expireTime: number | undefined;
}

export interface StaticWebhook {
  id: string;
  seq: number;
  name: string | undefined;
  uri: string;
  subscribedEvents: string[];
  state: 'enabled' | 'disabled';
  createTime: number;
  updateTime: number;
  secrets: Secret[];
}

function checkUri(v: unknown): string {
  if (typeof v !== 'string' || !/^https?:\/\/\S+$/.test(v)) throw invalid('uri must be an http(s) URL.');
  return v;
}

function checkEvents(v: unknown): string[] {
  if (!Array.isArray(v) || v.length === 0 || v.some((e) => typeof e !== 'string' || !(WEBHOOK_EVENTS as readonly string[]).includes(e))) {
    throw invalid(`subscribed_events must be a non-empty list of ${WEBHOOK_EVENTS.join(', ')}.`);
  }
  return v as string[];
}

export class WebhookStore {
  private readonly hooks = new Map<string, StaticWebhook>();
  private seq = 0;

  constructor(private readonly now: () => number) {}

  /** Returns the webhook and its first secret (shown once). */
  create(body: unknown): { hook: StaticWebhook; secret: string } {
    if (!isRecord(body)) throw invalid('The request body must be a Webhook object.');
    if (body.name !== undefined && typeof body.name !== 'string') throw invalid('name must be a string.');
    const t = this.now();
    const secret = newSigningSecret();
    const hook: StaticWebhook = {
      id: randomId(12),
      seq: ++this.seq,
      name: body.name as string | undefined,
      uri: checkUri(body.uri),
      subscribedEvents: checkEvents(body.subscribed_events),
      state: 'enabled',
      createTime: t,
      updateTime: t,
      secrets: [{ value: secret, expireTime: undefined }],
    };
    this.hooks.set(hook.id, hook);
    return { hook, secret };
  }

  get(id: string): StaticWebhook {
    const h = this.hooks.get(id);
    if (!h) throw notFound(`Webhook webhooks/${id}`);
    return h;
  }

  all(): StaticWebhook[] {
    return [...this.hooks.values()];
  }

  delete(id: string): void {
    this.get(id);
    this.hooks.delete(id);
  }

  /** PATCH with update_mask (comma-separated; default: every field in the body). */
  update(id: string, body: unknown, mask: string | null): StaticWebhook {
    const h = this.get(id);
    if (!isRecord(body)) throw invalid('The request body must be a Webhook object.');
    const fields = mask ? mask.split(',').map((f) => f.trim()).filter(Boolean) : Object.keys(body);
    for (const f of fields) {
      if (f === 'uri') h.uri = checkUri(body.uri);
      else if (f === 'subscribed_events') h.subscribedEvents = checkEvents(body.subscribed_events);
      else if (f === 'name') h.name = typeof body.name === 'string' ? body.name : undefined;
      else if (f === 'state') {
        if (body.state !== 'enabled' && body.state !== 'disabled') throw invalid('state must be enabled or disabled.');
        h.state = body.state;
      } else throw invalid(`update_mask names a field that cannot be updated: ${f}`);
    }
    h.updateTime = this.now();
    return h;
  }

  rotate(id: string, behavior: unknown): string {
    const h = this.get(id);
    const t = this.now();
    const secret = newSigningSecret();
    const keepOld = behavior !== 'revoke_previous_secrets_immediately';
    h.secrets = keepOld
      ? [{ value: secret, expireTime: undefined }, ...this.liveSecrets(h).map((value) => ({ value, expireTime: t + PREVIOUS_SECRET_TTL_MS }))]
      : [{ value: secret, expireTime: undefined }];
    h.updateTime = t;
    return secret;
  }

  /** Secrets that still sign deliveries. */
  liveSecrets(h: StaticWebhook): string[] {
    const t = this.now();
    return h.secrets.filter((s) => s.expireTime === undefined || s.expireTime > t).map((s) => s.value);
  }

  toResource(h: StaticWebhook): Record<string, unknown> {
    const t = this.now();
    return {
      id: h.id,
      ...(h.name !== undefined ? { name: h.name } : {}),
      uri: h.uri,
      subscribed_events: h.subscribedEvents,
      state: h.state,
      create_time: isoTimeNanos(h.createTime),
      update_time: isoTimeNanos(h.updateTime),
      signing_secrets: h.secrets
        .filter((s) => s.expireTime === undefined || s.expireTime > t)
        .map((s) => ({
          truncated_secret: `${s.value.slice(0, 10)}...`,
          ...(s.expireTime !== undefined ? { expire_time: isoTimeNanos(s.expireTime) } : {}),
        })),
    };
  }
}
