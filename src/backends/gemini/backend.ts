/**
 * The Gemini Developer API behind the seam (src/backend/types.ts): Files API
 * uploads as the input store, batches as the job service, the responses file
 * or the inline responses as the result source. Limits: 2 GB per file, 20 MB
 * inline, 200,000 requests; creates meet the enqueued-token quota; webhooks.
 */
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { BatchBackend, BatchJob, Fetched, FetchTarget, JobSpec } from '../../backend/types.js';
import { GeminiApiError } from '../../backend/service-error.js';
import { crashPoint } from '../../failpoints.js';
import { Slots } from '../../internal/concurrency/bounded.js';
import { inlineRequestsStream } from '../../internal/wire/inline-body.js';
import { createGeminiClient } from './client.js';
import { keyInlineResults } from './inline-keying.js';
import type { BatchOperation, GeminiClient, GeminiClientOptions } from './types.js';

export const GEMINI_LIMITS = {
  maxRequestsPerJob: 200_000,
  maxInputBytes: 2_147_483_648,
  maxInlineBytes: 20_000_000,
  tokenQuota: true,
  webhooks: true,
} as const;

/**
 * Downloads at once: local disk is the bottleneck, not the number of
 * sockets, and every download in flight keeps its own buffers alive.
 */
const DOWNLOADS_AT_ONCE = 2;

/** The Developer API's operation as a BatchJob (its responses file and inline count ride along in raw fields). */
function toJob(op: BatchOperation): BatchJob & { op: BatchOperation } {
  const hasOutput = op.hasOutput || Boolean(op.responsesFile) || op.inlinedResponseCount !== undefined;
  return { ...op, hasOutput, op };
}

function opOf(job: BatchJob): BatchOperation {
  return (job as BatchJob & { op?: BatchOperation }).op ?? (job as unknown as BatchOperation);
}

async function notFound<T>(call: () => Promise<T>): Promise<boolean> {
  try {
    await call();
    return false;
  } catch (err) {
    if (err instanceof GeminiApiError && (err.httpStatus === 404 || err.httpStatus === 403)) return true;
    throw err;
  }
}

export interface GeminiBackendOptions extends GeminiClientOptions {
  /** Use this client (tests, CLI); it is not closed by the backend. */
  client?: GeminiClient;
}

export function createGeminiBackend(opts: GeminiBackendOptions = {}): BatchBackend & { client: GeminiClient } {
  const { client: lent, ...clientOptions } = opts;
  const client = lent ?? createGeminiClient(clientOptions);
  const downloads = new Slots(DOWNLOADS_AT_ONCE);

  const create = async (spec: JobSpec): Promise<BatchJob> => {
    const inline = spec.inlineSpool;
    const op = await client.batches.create({
      model: spec.model,
      task: spec.task,
      displayName: spec.displayName,
      fileName: spec.inputRef,
      inlineRequests: inline ? () => inlineRequestsStream(inline) : undefined,
      ...(spec.webhookConfig ? { webhookConfig: spec.webhookConfig } : {}),
      signal: spec.signal,
    });
    return toJob(op);
  };

  const fetch = async (job: BatchJob, target: FetchTarget): Promise<Fetched> => {
    const op = opOf(job);
    const responsesFile = op.responsesFile;
    if (responsesFile) {
      await downloads.run(async () => {
        const body = await client.files.download(responsesFile, target.signal);
        await pipeline(body, createWriteStream(target.resultsPath, { flags: 'a' }));
      }, target.signal);
      return { remote: [responsesFile] };
    }
    // Inline results were written to the scratch file by the poll that saw the job end.
    const keyed = await keyInlineResults(target.scratchPath, target.spoolPath, target.resultsPath);
    return { remote: [], ...(keyed.detail ? { detail: keyed.detail } : {}) };
  };

  return {
    name: 'gemini',
    client,
    limits: GEMINI_LIMITS,
    wire: {},
    webhookBaseUrl: client.baseUrl,
    input: {
      capacityBytes: 20_000_000_000,
      put: async (spoolPath, name, hooks) => {
        let acked = 0;
        const file = await client.files.upload(spoolPath, {
          displayName: name,
          mimeType: 'application/jsonl',
          uploadUrl: hooks.uploadUrl,
          onUploadUrl: hooks.onUploadUrl,
          signal: hooks.signal,
          onProgress: (p) => {
            if (p.offset < p.total) crashPoint('upload-piece');
            if (p.offset > acked) hooks.onBytes?.(p.offset - acked);
            acked = p.offset;
          },
        });
        return file.name;
      },
      remove: async (ref, signal) => {
        try {
          await client.files.delete(ref, signal);
        } catch (err) {
          // Best effort: a leftover file expires in 48 h on its own.
          if (!(err instanceof GeminiApiError)) throw err;
        }
      },
      exists: async (ref, signal) => !(await notFound(() => client.files.get(ref, signal))),
    },
    jobs: {
      create,
      get: async (name, signal) => toJob(await client.batches.get(name, signal)),
      list: (o = {}) => ({
        async *[Symbol.asyncIterator]() {
          for await (const op of client.batches.list(o)) yield toJob(op);
        },
      }),
      cancel: (name, signal) => client.batches.cancel(name, signal),
      delete: (name, signal) => client.batches.delete(name, signal),
      findOurs: async (displayName, _labels, o) => {
        const op = await client.batches.findByDisplayName(displayName, {
          windowMs: o.windowMs,
          ...(o.initialDelayMs !== undefined ? { initialDelayMs: o.initialDelayMs } : {}),
          signal: o.signal,
          ...(o.onMiss ? { onMiss: o.onMiss } : {}),
        });
        return op ? toJob(op) : undefined;
      },
      wait: async (name, o) =>
        toJob(
          await client.batches.waitForBatch(name, {
            signal: o.signal,
            ...(o.pollInterval ? { pollInterval: o.pollInterval } : {}),
            inlineResultsPath: o.scratchPath,
            ...(o.pause ? { pause: o.pause } : {}),
            ...(o.onState ? { onState: (op: BatchOperation) => o.onState!(toJob(op)) } : {}),
          }),
        ),
      refresh: async (name, o) => toJob(await client.batches.getToFile(name, o.scratchPath, o.signal)),
    },
    output: {
      fetch,
      remove: async (ref, signal) => {
        try {
          await client.files.delete(ref, signal);
        } catch (err) {
          if (!(err instanceof GeminiApiError)) throw err;
        }
      },
    },
    close: () => (lent ? Promise.resolve() : client.close()),
  };
}
