/** The in-memory record of one batch job and how it looks on the wire (an Operation). */
import { performance } from 'node:perf_hooks';
import type { JobFate } from './faults.js';
import { isoTimeNanos } from './wire.js';

export type BatchState = 'PENDING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'EXPIRED';
export type Task = 'generate' | 'embed';

export const TERMINAL: ReadonlySet<BatchState> = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED', 'EXPIRED']);

export type BatchInput = { kind: 'file'; fileId: string } | { kind: 'inline'; requests: unknown[] };

/** One inline result, as it appears under inlinedResponses.inlinedResponses. */
export type InlineResult =
  | { response: unknown; metadata?: unknown }
  | { error: { code: number; message: string; status?: string }; metadata?: unknown };

/** batch.webhookConfig of a create: these URIs replace the project's webhooks for this batch. */
export interface BatchWebhookConfig {
  uris: string[];
  userMetadata: Record<string, unknown> | undefined;
}

export interface Batch {
  id: string;
  seq: number;
  /** 1-based creation ordinal: failJobs / expireJobs lists refer to it. */
  ordinal: number;
  task: Task;
  model: string;
  displayName: string | undefined;
  priority: string | undefined;
  createTime: number;
  updateTime: number;
  endTime: number | undefined;
  state: BatchState;
  input: BatchInput;
  fate: JobFate;
  requestCount: number;
  /** Requests the runner has answered (it answers a job at once, then holds it RUNNING for runningMs). */
  succeeded: number;
  failed: number;
  /** performance.now() when the job turned RUNNING, and runningMs then: stats show answers at that pace. */
  runningFrom: number | undefined;
  paceMs: number;
  outputFileId: string | undefined;
  inlined: InlineResult[] | undefined;
  error: { code: number; message: string } | undefined;
  timers: NodeJS.Timeout[];
  abort: AbortController;
  /** Prompt tokens (the responder's count): what the enqueued-token quota adds up. */
  tokens: number;
  /** batches.delete removes the record only: the job keeps running (and counting) unseen. */
  deleted: boolean;
  /** GETs still to answer SUCCEEDED without output (the succeededWithoutOutputPolls quirk). */
  outputHiddenPolls: number;
  /** ctx.now() from which batches.list shows the job (the listLagMs quirk). */
  listedFrom: number;
  webhook: BatchWebhookConfig | undefined;
}

const TYPE_PREFIX = 'type.googleapis.com/google.ai.generativelanguage.v1main.';

/**
 * How many answers the job shows: none while PENDING; while RUNNING, the
 * runner's answers spread evenly over its running time (it computes them at
 * once, the service works through them); all once SUCCEEDED. A job that ended
 * otherwise keeps what it showed when it ended (finish() freezes it).
 */
export function shownCounts(b: Batch): { succeeded: number; failed: number } {
  if (b.state === 'PENDING') return { succeeded: 0, failed: 0 };
  if (b.state !== 'RUNNING' || b.runningFrom === undefined || b.paceMs <= 0) return { succeeded: b.succeeded, failed: b.failed };
  const share = Math.min(1, (performance.now() - b.runningFrom) / b.paceMs);
  return { succeeded: Math.floor(b.succeeded * share), failed: Math.floor(b.failed * share) };
}

/** int64 counters go out as strings, zero counters not at all. */
function stats(b: Batch): Record<string, string> {
  const s: Record<string, string> = {};
  const put = (k: string, v: number): void => {
    if (v > 0) s[k] = String(v);
  };
  const shown = shownCounts(b);
  put('requestCount', b.requestCount);
  put('successfulRequestCount', shown.succeeded);
  put('failedRequestCount', shown.failed);
  put('pendingRequestCount', TERMINAL.has(b.state) && b.state !== 'SUCCEEDED' ? 0 : b.requestCount - shown.succeeded - shown.failed);
  return s;
}

/**
 * The Operation, with `done`, `response` and `metadata.output` only once
 * finished. The SDKs read metadata.*, REST users read done/response: both
 * are served. `withInline: false` leaves inline responses out (list answers).
 */
export function toOperation(b: Batch, withInline: boolean, statePrefix = 'BATCH_STATE_'): Record<string, unknown> {
  const kind = b.task === 'embed' ? 'EmbedContentBatch' : 'GenerateContentBatch';
  const metadata: Record<string, unknown> = { '@type': TYPE_PREFIX + kind, name: `batches/${b.id}`, model: b.model };
  if (b.displayName !== undefined) metadata.displayName = b.displayName;
  metadata.createTime = isoTimeNanos(b.createTime);
  metadata.updateTime = isoTimeNanos(b.updateTime);
  if (b.endTime !== undefined) metadata.endTime = isoTimeNanos(b.endTime);
  if (b.input.kind === 'file') metadata.inputConfig = { fileName: `files/${b.input.fileId}` };
  metadata.batchStats = stats(b);
  metadata.state = `${statePrefix}${b.state}`;
  if (b.priority !== undefined) metadata.priority = b.priority;
  if (b.webhook !== undefined) {
    metadata.webhookConfig = { uris: b.webhook.uris, ...(b.webhook.userMetadata ? { userMetadata: b.webhook.userMetadata } : {}) };
  }

  let output: Record<string, unknown> | undefined;
  // FAILED / EXPIRED jobs carry output only with the partialOutputOnFailure knob (undocumented on the service).
  const mayShow = b.state === 'SUCCEEDED' ? b.outputHiddenPolls <= 0 : b.state === 'FAILED' || b.state === 'EXPIRED';
  if (mayShow) {
    if (b.outputFileId !== undefined) output = { responsesFile: `files/${b.outputFileId}` };
    else if (b.inlined !== undefined && withInline) output = { inlinedResponses: { inlinedResponses: b.inlined } };
  }
  if (output) metadata.output = output;

  const op: Record<string, unknown> = { name: `batches/${b.id}`, metadata };
  if (TERMINAL.has(b.state)) {
    op.done = true;
    if (b.state === 'SUCCEEDED' && b.outputHiddenPolls <= 0) op.response = { '@type': `${TYPE_PREFIX}${kind}Output`, ...(output ?? {}) };
    if (b.error) op.error = b.error;
  }
  return op;
}
