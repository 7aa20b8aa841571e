/** gemini-batch-stream: the public API. */
export { geminiBatch, type GeminiBatchInternals, type GeminiBatchStream } from './gemini-batch.js';
export type { GeminiBatchOptions } from './options.js';
export { planBatch, type BatchPlan, type ChunkPlan, type PlanOptions, type TokenSample } from './planning/plan-batch.js';
export { reserveForChunk } from './planning/chunk-read.js';
export { costOfUsage, estimateChunkCost, reserveFor, priceTally, UsageTally, type UsageBucket, type RunCost } from './cost/cost.js';
export { priceOf, parsePriceTable, type ModelPrice, type PriceTable } from './cost/prices.js';
export { checkStoreOption } from './options/cost.js';
export { toRequestLine, InvalidInput, RequestLineMaker, type ToRequestLineOptions } from './stages/to-request-line.js';
export { sizeChunker, ChunkBuilder, type SizeChunkerOptions, type ChunkerContext } from './stages/size-chunker.js';
export { uploader, uploadChunk, type UploaderOptions, type UploaderContext } from './stages/uploader.js';
export { batchSubmitter, type BatchSubmitterOptions, type SubmitterContext } from './stages/batch-submitter/index.js';
export { resultDemuxer, type ResultDemuxerOptions, type DemuxerContext } from './stages/result-demuxer/index.js';
export type { RunContext } from './run/context.js';
export { RunEvents } from './run/events.js';
export { InFlight } from './run/in-flight.js';
export type { BudgetReport } from './run/budget-ledger.js';
export type { BudgetOptions } from './options/budget.js';
export { JobResults } from './stages/result-demuxer/job-results.js';
export { createGeminiClient } from './backends/gemini/client.js';
export { createGeminiBackend, type GeminiBackendOptions } from './backends/gemini/backend.js';
// The backend seam: implement BatchBackend to run the pipeline on another batch service.
export type * from './backend/types.js';
export { GeminiApiError } from './backends/gemini/errors.js';
export { probeService, type ProbeVerdict, type ProbeOptions } from './backends/gemini/probe.js';
export { GeminiBatchError, InvalidRecordError } from './errors.js';
export { openJournal } from './journal/journal.js';
export type * from './types.js';
export type * from './backends/gemini/types.js';
// Webhooks (issue 13): the `webhook` option's receiver, and verifying/forwarding deliveries
// from a server of your own. Named here, so webhook/'s WebhookEvent (a verified delivery)
// wins over api/types' WebhookEvent (an event name, also WebhookEventType below).
export {
  WebhookError,
  isWebhookError,
  webhookOptionsSchema,
  createWebhookVerifier,
  jwksUrlFor,
  verifyWebhook,
  createWebhookReceiver,
  createWebhookHandler,
  handleWebhook,
  readRawBody,
  receiveWebhook,
  sendWebhookResponse,
  startWebhookReceiver,
  openWebhookReceiver,
  type WebhookErrorCode,
  type WebhookEvent,
  type WebhookEventType,
  type WebhookOptions,
  type WebhookVerifyOptions,
  type WebhookHeaders,
  type WebhookVerifier,
  type WebhookOutcome,
  type WebhookReceiver,
  type WebhookReceiverEvents,
  type WebhookReceiverOptions,
  type WebhookReceiverStats,
  type WebhookResponse,
  type WebhookHandler,
  type WebhookRequest,
  type StartWebhookReceiverOptions,
  type WebhookServer,
  type OpenedWebhook,
  type OpenWebhookContext,
} from './webhook/index.js';
