/**
 * What geminiBatch() does with its `webhook` option, in one call: with
 * `listen`, start our server (the url defaults to its own); without, open a
 * receiver that the user's server feeds through handleWebhook(). Either way
 * the pipeline gets the url to send as webhookConfig.uris and a receiver to
 * watch() its batches and waitForHint() between polls.
 */
import { parseOptions, webhookOptionsSchema, type WebhookOptions } from './options.js';
import { createWebhookReceiver, type WebhookReceiver, type WebhookReceiverOptions } from './receiver.js';
import { startWebhookReceiver } from './server.js';

export interface OpenedWebhook {
  /** Send this as `webhookConfig.uris: [url]` on every create; journal it with the batch. */
  readonly url: string;
  readonly receiver: WebhookReceiver;
  /** Stop the server (if any) and close the receiver. Idempotent. */
  close(): Promise<void>;
}

export interface OpenWebhookContext {
  /** The service base URL the run talks to: its JWKS verifies dynamic deliveries. */
  baseUrl?: string;
  /** Aborting closes the server. */
  signal?: AbortSignal;
  /**
   * Ownership besides receiver.watch(): e.g. `(_, e) => e.userMetadata?.runId === runId`.
   * It also covers an event that outruns the create answer (a hint is then
   * kept for the batch's first waitForHint).
   */
  isOurs?: WebhookReceiverOptions['isOurs'];
}

export async function openWebhookReceiver(webhook: WebhookOptions, ctx: OpenWebhookContext = {}): Promise<OpenedWebhook> {
  const o = parseOptions('webhook', webhookOptionsSchema, webhook);
  const verify = {
    ...(ctx.baseUrl !== undefined ? { baseUrl: ctx.baseUrl } : {}),
    ...(o.secret !== undefined ? { secret: o.secret } : {}),
    ...(o.url !== undefined ? { url: o.url } : {}),
    ...(ctx.isOurs !== undefined ? { isOurs: ctx.isOurs } : {}),
  };
  if (o.listen !== undefined) {
    const server = await startWebhookReceiver({
      ...o.listen,
      ...verify,
      ...(ctx.signal !== undefined ? { signal: ctx.signal } : {}),
    });
    return { url: o.url ?? server.url, receiver: server.receiver, close: () => server.close() };
  }
  const receiver = createWebhookReceiver(verify);
  const close = () => {
    ctx.signal?.removeEventListener('abort', close);
    receiver.close();
  };
  ctx.signal?.addEventListener('abort', close, { once: true });
  if (ctx.signal?.aborted) close();
  return { url: o.url!, receiver, close: async () => close() };
}
