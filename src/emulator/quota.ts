/**
 * The enqueued-token quota: the prompt tokens of a model's PENDING and RUNNING
 * batches together. A create that would go over it answers 429
 * RESOURCE_EXHAUSTED with google.rpc.QuotaFailure and google.rpc.RetryInfo,
 * as the service does; a batch bigger than the limit can never be accepted.
 *
 * Tokens are counted with the default responder's prompt count (promptTokens:
 * one per CJK character, one per 4 others, plus cached tokens), whatever
 * responder is plugged in, so a test can compute exactly what a batch weighs.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Task } from './batch.js';
import { promptTokens } from './responder.js';
import type { EnqueuedTokenLimits } from './types.js';
import { HttpError, isRecord } from './wire.js';

/** Tier 1 enqueued-token limits per model (PROTOCOL.md, Quotas). Models not listed have no limit. */
export const TIER1_ENQUEUED_TOKENS: Readonly<Record<string, number>> = {
  'gemini-2.5-flash': 3_000_000,
  'gemini-2.5-pro': 5_000_000,
  'gemini-2.5-flash-lite': 10_000_000,
  'gemini-3-pro-preview': 50_000_000,
};

/** Default seconds in the RetryInfo and the message ("Please retry in 23s"); the quotaRetryDelaySeconds option changes it. */
export const QUOTA_RETRY_SECONDS = 23;

const bare = (model: string): string => model.replace(/^(models|tunedModels)\//, '');

/**
 * The limit for a model: a number is every model's; 'tier1' the preset; a
 * record maps bare model ids to limits, '*' for the rest, and may hold
 * 'tier1': 1 to start from the preset.
 */
export function limitFor(spec: EnqueuedTokenLimits | undefined, model: string): number | undefined {
  if (spec === undefined) return undefined;
  if (typeof spec === 'number') return spec;
  const id = bare(model);
  if (spec === 'tier1') return TIER1_ENQUEUED_TOKENS[id];
  if (spec[id] !== undefined) return spec[id];
  if (spec.tier1 !== undefined && TIER1_ENQUEUED_TOKENS[id] !== undefined) return TIER1_ENQUEUED_TOKENS[id];
  return spec['*'];
}

export function quotaExceeded(
  model: string,
  limit: number,
  enqueued: number,
  wanted: number,
  retrySeconds = QUOTA_RETRY_SECONDS,
): HttpError {
  const id = bare(model);
  const why =
    limit === 0
      ? 'This project has no Batch API access (enqueued-token limit 0).'
      : wanted > limit
        ? `This batch has ${wanted} tokens, more than the limit of ${limit}: it can never be accepted; split it.`
        : `${enqueued} tokens are enqueued and this batch has ${wanted}.`;
  return new HttpError(
    429,
    `You exceeded your current quota, please check your plan and billing details. ` +
      `Quota exceeded for metric: generativelanguage.googleapis.com/batch_enqueued_tokens, limit: ${limit}, model: ${id}. ` +
      `${why} Please retry in ${retrySeconds}s.`,
    {
      details: [
        {
          '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
          violations: [
            {
              quotaMetric: 'generativelanguage.googleapis.com/batch_enqueued_tokens',
              quotaId: 'BatchEnqueuedTokensPerModelPerProject',
              quotaDimensions: { model: id, location: 'global' },
              quotaValue: String(limit),
            },
          ],
        },
        {
          '@type': 'type.googleapis.com/google.rpc.Help',
          links: [{ description: 'Learn more about Gemini API quotas', url: 'https://ai.google.dev/gemini-api/docs/rate-limits' }],
        },
        { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${retrySeconds}s` },
      ],
    },
  );
}

export function inlineTokens(task: Task, items: unknown[]): number {
  let n = 0;
  for (const item of items) n += promptTokens(task, isRecord(item) ? item.request : undefined);
  return n;
}

/** Prompt tokens of a JSONL input file, streamed (only read when a limit applies). */
export async function fileTokens(task: Task, path: string): Promise<number> {
  let n = 0;
  const lines = createInterface({ input: createReadStream(path, { highWaterMark: 256 << 10 }), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    try {
      const parsed = JSON.parse(line) as unknown;
      n += promptTokens(task, isRecord(parsed) ? parsed.request : undefined);
    } catch {
      // An unparsable line weighs nothing: it becomes an error line.
    }
  }
  return n;
}

/**
 * The project's file storage is full: 429 RESOURCE_EXHAUSTED with a
 * QuotaFailure on file storage bytes and no RetryInfo (space comes back only
 * when files are deleted or expire after 48 h, not after a fixed delay).
 */
export function storageExceeded(limit: number, used: number, wanted: number): HttpError {
  return new HttpError(
    429,
    `File storage quota exceeded: the project stores ${used} bytes of its ${limit}-byte limit and this upload needs ${wanted} more. ` +
      `Delete files or wait for them to expire (48 h).`,
    {
      details: [
        {
          '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
          violations: [
            {
              quotaMetric: 'generativelanguage.googleapis.com/file_storage_bytes',
              quotaId: 'FileStorageBytesPerProject',
              quotaDimensions: { location: 'global' },
              quotaValue: String(limit),
            },
          ],
        },
      ],
    },
  );
}
