/**
 * Wire shapes, validated loosely: the service adds fields over time and
 * PROTOCOL.md marks several shapes as unconfirmed, so every object keeps
 * unknown keys and every field we do not strictly need is optional.
 */
import { z } from 'zod/v3';
import type { BatchState } from './types.js';

/** int64 counters arrive as JSON strings; be liberal and accept numbers too. */
const int64 = z.union([z.string(), z.number()]).transform((v) => String(v));

export const rpcStatusSchema = z.object({
  code: z.number().optional(),
  message: z.string().optional(),
  status: z.string().optional(),
  details: z.array(z.unknown()).optional(),
}).passthrough();

export const errorBodySchema = z.object({ error: rpcStatusSchema }).passthrough();

export const fileSchema = z.object({
  name: z.string(),
  displayName: z.string().optional(),
  mimeType: z.string().optional(),
  sizeBytes: int64.optional(),
  createTime: z.string().optional(),
  updateTime: z.string().optional(),
  expirationTime: z.string().optional(),
  sha256Hash: z.string().optional(),
  uri: z.string().optional(),
  state: z.string().optional(),
  source: z.string().optional(),
}).passthrough();
export type WireFile = z.infer<typeof fileSchema>;

/** Final upload answer and (maybe) the `query` answer on a finished session. */
export const fileEnvelopeSchema = z.object({ file: fileSchema }).passthrough();

export const listFilesSchema = z.object({
  files: z.array(fileSchema).optional(),
  nextPageToken: z.string().optional(),
}).passthrough();

export const batchStatsSchema = z.object({
  requestCount: int64.optional(),
  successfulRequestCount: int64.optional(),
  failedRequestCount: int64.optional(),
  pendingRequestCount: int64.optional(),
}).passthrough();

const inlineContainerSchema = z.object({ inlinedResponses: z.array(z.unknown()).optional() }).passthrough().optional();

const outputSchema = z.object({
  responsesFile: z.string().optional(),
  inlinedResponses: inlineContainerSchema,
  /** Embedding batches (the official SDK reads their inline output here). */
  inlinedEmbedContentResponses: inlineContainerSchema,
}).passthrough();

export const batchMetadataSchema = z.object({
  name: z.string().optional(),
  model: z.string().optional(),
  displayName: z.string().optional(),
  createTime: z.string().optional(),
  updateTime: z.string().optional(),
  endTime: z.string().optional(),
  batchStats: batchStatsSchema.optional(),
  state: z.string().optional(),
  output: outputSchema.optional(),
}).passthrough();

export const operationSchema = z.object({
  name: z.string(),
  metadata: batchMetadataSchema.optional(),
  done: z.boolean().optional(),
  response: outputSchema.optional(),
  error: rpcStatusSchema.optional(),
}).passthrough();
export type WireOperation = z.infer<typeof operationSchema>;

export const listOperationsSchema = z.object({
  operations: z.array(operationSchema).optional(),
  nextPageToken: z.string().optional(),
}).passthrough();


/** A WebhookService Webhook, snake_case as the service writes it (camelCase read too). */
const signingSecretSchema = z.object({
  truncated_secret: z.string().optional(),
  truncatedSecret: z.string().optional(),
  expire_time: z.string().optional(),
  expireTime: z.string().optional(),
}).passthrough();

export const webhookSchema = z.object({
  id: z.string().optional(),
  name: z.string().optional(),
  uri: z.string().optional(),
  subscribed_events: z.array(z.string()).optional(),
  subscribedEvents: z.array(z.string()).optional(),
  state: z.string().optional(),
  create_time: z.string().optional(),
  createTime: z.string().optional(),
  update_time: z.string().optional(),
  updateTime: z.string().optional(),
  signing_secrets: z.array(signingSecretSchema).optional(),
  signingSecrets: z.array(signingSecretSchema).optional(),
  new_signing_secret: z.string().optional(),
  newSigningSecret: z.string().optional(),
}).passthrough();
export type WireWebhook = z.infer<typeof webhookSchema>;

export const webhookListSchema = z.object({
  webhooks: z.array(webhookSchema).optional(),
  next_page_token: z.string().optional(),
  nextPageToken: z.string().optional(),
}).passthrough();

export const webhookSecretSchema = z.object({
  secret: z.string().optional(),
  new_signing_secret: z.string().optional(),
  newSigningSecret: z.string().optional(),
}).passthrough();

const STATES: ReadonlySet<string> = new Set(['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'EXPIRED']);

/**
 * BATCH_STATE_RUNNING (wire) and JOB_STATE_RUNNING (SDKs) both become
 * RUNNING. Names we do not know are mapped by what they say, so a new
 * terminal state is never polled for ever: JOB_STATE_PARTIALLY_SUCCEEDED
 * (Vertex) → SUCCEEDED (its output is used, what has no result goes again),
 * *FAIL* → FAILED, *EXPIRE* → EXPIRED, CANCELLED/CANCELED → CANCELLED,
 * CANCELLING/PAUSED/UPDATING → RUNNING, QUEUED → PENDING. Anything else is
 * UNSPECIFIED (toBatchOperation still ends it when the operation says done).
 */
export function normalizeState(raw: string | undefined | null): BatchState {
  if (!raw) return 'UNSPECIFIED';
  const bare = raw.toUpperCase().replace(/^(BATCH|JOB)_STATE_/, '');
  if (STATES.has(bare)) return bare as BatchState;
  if (bare === 'CANCELED') return 'CANCELLED';
  if (bare === 'QUEUED') return 'PENDING';
  if (bare === 'CANCELLING' || bare === 'PAUSED' || bare === 'UPDATING') return 'RUNNING';
  if (bare.includes('SUCCEED')) return 'SUCCEEDED';
  if (bare.includes('FAIL')) return 'FAILED';
  if (bare.includes('EXPIRE')) return 'EXPIRED';
  if (bare.includes('CANCEL')) return 'CANCELLED';
  return 'UNSPECIFIED';
}
