/**
 * The WebhookService (static, project-level webhooks; PROTOCOL.md,
 * Webhooks). The wire is snake_case (subscribed_events, new_signing_secret,
 * page_size/page_token, update_mask, revocation_behavior); this client takes
 * and gives camelCase, and reads camelCase answers too (be liberal).
 *
 * Retries: get, list, update (a PATCH of the same fields), delete and ping
 * are safe to repeat. create and rotateSigningSecret are not: a repeated
 * create makes a second webhook, a repeated rotation replaces the secret the
 * lost answer carried. They are retried only on failures that prove nothing
 * was processed (429, 408, a connection never made); any 5xx or a cut after
 * sending throws with `ambiguous: true`. A delete retried after a lost answer may meet 404: that is
 * the delete having worked, so it resolves.
 *
 * A signing secret (`whsec_...`) is returned once, by create and by a
 * rotation; it is never logged nor put in an error.
 */
import { GeminiApiError } from './errors.js';
import type { HttpTransport } from './http.js';
import { resourcePath } from './names.js';
import { webhookListSchema, webhookSchema, webhookSecretSchema, type WireWebhook } from './schemas.js';
import type { CreatedWebhook, UpdateWebhookFields, Webhook, WebhooksApi } from './types.js';

const JSON_HEADERS = { 'content-type': 'application/json' };

/**
 * For calls that must not be repeated: a 5xx may come from a frontend after
 * the backend acted (as batches.create assumes), so it proves nothing.
 */
async function once<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw err instanceof GeminiApiError && err.httpStatus >= 500 ? err.asAmbiguous() : err;
  }
}

function idOf(w: WireWebhook): string {
  if (typeof w.id === 'string' && w.id !== '') return w.id;
  const name = typeof w.name === 'string' ? w.name : '';
  return name.startsWith('webhooks/') ? name.slice('webhooks/'.length) : '';
}

/** Wire Webhook (snake_case or camelCase) → Webhook. */
export function toWebhook(w: WireWebhook): Webhook {
  const out: Webhook = {
    id: idOf(w),
    uri: w.uri ?? '',
    subscribedEvents: w.subscribed_events ?? w.subscribedEvents ?? [],
    raw: w,
  };
  if (w.name !== undefined) out.name = w.name;
  if (w.state !== undefined) out.state = w.state;
  const created = w.create_time ?? w.createTime;
  const updated = w.update_time ?? w.updateTime;
  if (created !== undefined) out.createTime = created;
  if (updated !== undefined) out.updateTime = updated;
  const secrets = w.signing_secrets ?? w.signingSecrets;
  if (secrets) {
    out.signingSecrets = secrets.map((s) => {
      const truncated = s.truncated_secret ?? s.truncatedSecret;
      const expires = s.expire_time ?? s.expireTime;
      return { ...(truncated !== undefined ? { truncatedSecret: truncated } : {}), ...(expires !== undefined ? { expireTime: expires } : {}) };
    });
  }
  return out;
}

/** The snake_case body of an update, and its update_mask (the fields given). */
function updateBody(fields: UpdateWebhookFields): { body: Record<string, unknown>; mask: string } {
  const body: Record<string, unknown> = {};
  if (fields.uri !== undefined) body.uri = fields.uri;
  if (fields.subscribedEvents !== undefined) body.subscribed_events = fields.subscribedEvents;
  if (fields.name !== undefined) body.name = fields.name;
  if (fields.state !== undefined) body.state = fields.state;
  return { body, mask: Object.keys(body).join(',') };
}

export function createWebhooksApi(http: HttpTransport): WebhooksApi {
  const sig = (signal?: AbortSignal) => (signal ? { signal } : {});
  const url = (id: string, suffix = '') => http.api(`${resourcePath('webhooks', id)}${suffix}`);

  return {
    create: async ({ uri, subscribedEvents, name, signal }) => {
      const body = JSON.stringify({ ...(name !== undefined ? { name } : {}), uri, subscribed_events: subscribedEvents });
      const wire = await http.retry(
        () => once(() => http.sendJson({ method: 'POST', url: http.api('webhooks'), headers: JSON_HEADERS, body, ...sig(signal) }, webhookSchema)),
        { ...sig(signal), idempotent: false },
      );
      const secret = wire.new_signing_secret ?? wire.newSigningSecret;
      const created: CreatedWebhook = { ...toWebhook(wire), newSigningSecret: secret ?? '' };
      // The raw answer holds the secret too; keep it out of anything that might get logged.
      created.raw = { ...wire, new_signing_secret: undefined, newSigningSecret: undefined };
      return created;
    },

    list: (opts = {}) => ({
      async *[Symbol.asyncIterator]() {
        let pageToken: string | undefined;
        do {
          const q = new URLSearchParams();
          if (opts.pageSize !== undefined) q.set('page_size', String(opts.pageSize));
          if (pageToken) q.set('page_token', pageToken);
          const query = q.toString();
          const page = await http.retry(
            () => http.sendJson({ method: 'GET', url: http.api(`webhooks${query ? `?${query}` : ''}`), ...sig(opts.signal) }, webhookListSchema),
            sig(opts.signal),
          );
          for (const w of page.webhooks ?? []) yield toWebhook(w);
          pageToken = page.next_page_token || page.nextPageToken || undefined;
        } while (pageToken);
      },
    }),

    get: async (id, signal) => toWebhook(await http.retry(() => http.sendJson({ method: 'GET', url: url(id), ...sig(signal) }, webhookSchema), sig(signal))),

    update: async (id, fields, signal) => {
      const { body, mask } = updateBody(fields);
      const target = `${url(id)}?${new URLSearchParams({ update_mask: mask }).toString()}`;
      const wire = await http.retry(
        () => http.sendJson({ method: 'PATCH', url: target, headers: JSON_HEADERS, body: JSON.stringify(body), ...sig(signal) }, webhookSchema),
        sig(signal),
      );
      return toWebhook(wire);
    },

    delete: async (id, signal) => {
      await http.retry(async (attempt) => {
        try {
          const res = await http.send({ method: 'DELETE', url: url(id), ...sig(signal) });
          res.body.resume();
        } catch (err) {
          // An earlier attempt whose answer was lost already deleted it.
          if (attempt > 1 && err instanceof GeminiApiError && err.httpStatus === 404) return;
          throw err;
        }
      }, sig(signal));
    },

    ping: async (id, signal) => {
      await http.retry(async () => {
        const res = await http.send({ method: 'POST', url: url(id, ':ping'), headers: JSON_HEADERS, body: '{}', ...sig(signal) });
        res.body.resume();
      }, sig(signal));
    },

    rotateSigningSecret: async (id, opts = {}) => {
      const body = JSON.stringify(opts.revocationBehavior !== undefined ? { revocation_behavior: opts.revocationBehavior } : {});
      const wire = await http.retry(
        () => once(() => http.sendJson({ method: 'POST', url: url(id, ':rotateSigningSecret'), headers: JSON_HEADERS, body, ...sig(opts.signal) }, webhookSecretSchema)),
        { ...sig(opts.signal), idempotent: false },
      );
      return { secret: wire.secret ?? wire.new_signing_secret ?? wire.newSigningSecret ?? '' };
    },
  };
}
