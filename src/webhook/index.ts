/**
 * Webhook deliveries from the Gemini Batch API: verify them (dynamic RS256
 * JWT or static Standard Webhooks HMAC) and turn them into hints that wake a
 * batch's poll. An event is never a source of results.
 */
export { WebhookError, isWebhookError, type WebhookErrorCode } from './errors.js';
export type { WebhookEvent, WebhookEventType } from './event.js';
export {
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_SERVICE_BASE_URL,
  webhookOptionsSchema,
  webhookSecretSchema,
  webhookVerifyOptionsSchema,
  type ResolvedWebhookOptions,
  type ResolvedWebhookVerifyOptions,
  type WebhookOptions,
  type WebhookVerifyOptions,
} from './options.js';
export { createWebhookVerifier, jwksUrlFor, verifyWebhook, type WebhookHeaders, type WebhookVerifier } from './verify.js';
export {
  createWebhookReceiver,
  type WebhookOutcome,
  type WebhookReceiver,
  type WebhookReceiverEvents,
  type WebhookReceiverOptions,
  type WebhookReceiverStats,
  type WebhookResponse,
} from './receiver.js';
export {
  createWebhookHandler,
  handleWebhook,
  readRawBody,
  receiveWebhook,
  sendWebhookResponse,
  type WebhookHandler,
  type WebhookRequest,
} from './http.js';
export { startWebhookReceiver, type StartWebhookReceiverOptions, type WebhookServer } from './server.js';
export { listenError, probeListen } from './listen.js';
export { openWebhookReceiver, type OpenedWebhook, type OpenWebhookContext } from './attach.js';
