/**
 * Sends webhook events when a batch ends, as the service does: to the
 * batch's own webhookConfig.uris (dynamic, JWT-signed) when it has any, else
 * to every enabled project webhook subscribed to the event (static,
 * HMAC-signed). A non-2xx or a failed connection is retried with exponential
 * backoff, a bounded number of times (the service keeps trying for 24 h).
 * Faults (webhookFaults) drop, duplicate, delay or forge deliveries.
 */
import type { Batch } from './batch.js';
import type { Context } from './context.js';
import { mulberry32, randomId, type Rng } from './prng.js';
import type { WebhookFaults } from './types.js';
import { hmacSignature, type WebhookSigner } from './webhook-signing.js';
import type { StaticWebhook, WebhookStore } from './webhook-store.js';
import { isoTimeNanos } from './wire.js';

export type BatchEventType = 'batch.succeeded' | 'batch.failed' | 'batch.expired';

const ATTEMPT_TIMEOUT_MS = 5_000;

interface Target {
  uri: string;
  /** The signature headers for one attempt of this body. */
  sign: (msgId: string, ts: number, body: string, forged: boolean) => Promise<string>;
}

export class WebhookDeliverer {
  private readonly rng: Rng;
  private readonly faults: WebhookFaults;
  private readonly maxAttempts: number;
  private readonly baseMs: number;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<AbortController>();
  private closed = false;

  constructor(
    private readonly ctx: Context,
    private readonly hooks: WebhookStore,
    private readonly signer: WebhookSigner,
    private readonly baseUrl: () => string,
  ) {
    const o = ctx.options;
    this.rng = mulberry32((o.seed ?? 1) ^ 0x5eed);
    this.faults = o.webhookFaults ?? {};
    this.maxAttempts = Math.max(1, o.webhookMaxAttempts ?? 4);
    this.baseMs = o.webhookRetryBaseMs ?? 200;
  }

  /** Called when a batch reaches a terminal state; CANCELLED has no event. */
  batchEnded(b: Batch): void {
    const type: BatchEventType | undefined =
      b.state === 'SUCCEEDED' ? 'batch.succeeded' : b.state === 'FAILED' ? 'batch.failed' : b.state === 'EXPIRED' ? 'batch.expired' : undefined;
    if (!type) return;
    const data: Record<string, unknown> = { id: `batches/${b.id}` };
    if (type === 'batch.succeeded' && b.outputFileId !== undefined) data.output_file_uri = `${this.baseUrl()}/v1beta/files/${b.outputFileId}`;
    if (type === 'batch.failed') {
      data.error_code = b.error?.code ?? 13;
      data.error_message = b.error?.message ?? 'The batch failed.';
    }
    const event: Record<string, unknown> = { type, version: 'v1', timestamp: isoTimeNanos(this.ctx.now()), data };
    if (b.webhook?.userMetadata) event.user_metadata = b.webhook.userMetadata;
    const body = JSON.stringify(event);

    const targets: Target[] =
      b.webhook && b.webhook.uris.length > 0
        ? b.webhook.uris.map((uri) => this.dynamicTarget(uri))
        : this.hooks
            .all()
            .filter((h) => h.state === 'enabled' && h.subscribedEvents.includes(type))
            .map((h) => this.staticTarget(h));
    for (const t of targets) this.send(t, body);
  }

  /** POST /v1beta/webhooks/{id}:ping: one event of type webhook.ping to that webhook (the type is our guess). */
  ping(h: StaticWebhook): void {
    const body = JSON.stringify({ type: 'webhook.ping', version: 'v1', timestamp: isoTimeNanos(this.ctx.now()), data: { id: `webhooks/${h.id}` } });
    this.send(this.staticTarget(h), body, false);
  }

  private dynamicTarget(uri: string): Target {
    return { uri, sign: (_id, _ts, _body, forged) => this.signer.jwt(this.baseUrl(), uri, forged) };
  }

  private staticTarget(h: StaticWebhook): Target {
    return {
      uri: h.uri,
      sign: (id, ts, body, forged) =>
        Promise.resolve(
          forged ? hmacSignature([`whsec_${Buffer.from(randomId(32)).toString('base64')}`], id, ts, body) : hmacSignature(this.hooks.liveSecrets(h), id, ts, body),
        ),
    };
  }

  private chance(p: number | undefined): boolean {
    return p !== undefined && p > 0 && this.rng() < p;
  }

  private send(target: Target, body: string, withFaults = true): void {
    if (this.closed) return;
    const msgId = `msg_${randomId(24)}`;
    if (withFaults && this.chance(this.faults.drop)) {
      this.ctx.counters.add('webhooksDropped');
      return;
    }
    const delay = withFaults ? (this.faults.delayMs ?? 0) : 0;
    const copies = withFaults && this.chance(this.faults.duplicate) ? 2 : 1;
    // A forgery is an extra delivery under its own id, signed with a key the receiver does not trust; never retried.
    if (withFaults && this.chance(this.faults.forge)) this.later(delay, () => void this.attempt(target, `msg_${randomId(24)}`, body, 1, true));
    for (let i = 0; i < copies; i++) this.later(delay, () => void this.attempt(target, msgId, body, 1, false));
  }

  private later(ms: number, fn: () => void): void {
    if (this.closed) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    t.unref();
    this.timers.add(t);
  }

  private async attempt(target: Target, msgId: string, body: string, n: number, forged: boolean): Promise<void> {
    if (this.closed) return;
    const ts = Math.floor(Date.now() / 1000);
    const ac = new AbortController();
    this.inFlight.add(ac);
    const timer = setTimeout(() => ac.abort(), ATTEMPT_TIMEOUT_MS);
    let ok = false;
    try {
      const signature = await target.sign(msgId, ts, body, forged);
      this.ctx.counters.add('webhookAttempts');
      const r = await fetch(target.uri, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'gemini-batch-emulator-webhooks',
          'webhook-id': msgId,
          'webhook-timestamp': String(ts),
          'webhook-signature': signature,
        },
        body,
        signal: ac.signal,
      });
      await r.arrayBuffer().catch(() => undefined);
      ok = r.status >= 200 && r.status < 300;
    } catch {
      ok = false;
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(ac);
    }
    if (ok) {
      if (!forged) this.ctx.counters.add('webhooksDelivered');
      return;
    }
    if (forged || n >= this.maxAttempts) return;
    this.later(this.baseMs * 2 ** (n - 1), () => void this.attempt(target, msgId, body, n + 1, false));
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const ac of this.inFlight) ac.abort();
  }
}
