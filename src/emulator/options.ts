/**
 * startEmulator's options, checked once before anything starts: a typo'd or
 * out-of-range knob fails at once with a message naming it, instead of a
 * silently fault-free emulator. The emulator imports nothing from the library,
 * so its error is its own (same code as the library's: ERR_INVALID_OPTIONS).
 */
import { z } from 'zod/v3';
import type { EmulatorOptions } from './types.js';

const count = z.number().int().nonnegative();
const probability = z.number().min(0).max(1);
const jobSpec = z.union([probability, z.array(z.number().int().positive())]);
const route = z.enum(['upload', 'files', 'create', 'get', 'list', 'cancel', 'delete', 'download', 'webhooks']);

const schema = z
  .object({
    port: z.number().int().min(0).max(65535),
    host: z.string().min(1),
    apiKey: z.string(),
    dataDir: z.string().min(1),
    pendingMs: count,
    runningMs: count,
    responder: z.function(),
    maxFileBytes: count,
    maxInlineBytes: count,
    errorRates: z.record(route, probability),
    errorStatuses: z.array(z.number().int().refine((n) => n === 0 || (n >= 400 && n <= 599), 'an HTTP status 400-599, or 0 to drop the connection')),
    cutUploadAfterBytes: z.number().int(),
    cutUploadEvery: count,
    shuffleResults: z.boolean(),
    requestErrorRate: probability,
    failJobs: jobSpec,
    expireJobs: jobSpec,
    dropResults: count,
    duplicateResults: count,
    maxEnqueuedRequests: count,
    seed: z.number().int(),
    ambiguousCreateRate: probability,
    maxLineBytes: count,
    now: z.function(),
    enqueuedTokenLimit: z.union([count, z.literal('tier1'), z.record(z.string(), count)]),
    quotaRetryDelaySeconds: z.number().nonnegative().finite(),
    omitInlineMetadata: z.boolean(),
    downloadUploadedFiles: z.boolean(),
    succeededWithoutOutputPolls: count,
    listLagMs: count,
    partialOutputOnFailure: z.boolean(),
    statePrefix: z.enum(['BATCH_STATE_', 'JOB_STATE_']),
    storageLimitBytes: count,
    webhookFaults: z
      .object({ drop: probability, duplicate: probability, delayMs: count, forge: probability })
      .partial()
      .strict(),
    webhookMaxAttempts: z.number().int().positive(),
    webhookRetryBaseMs: count,
    vertexQueueMs: count,
    vertexExpireJobs: jobSpec,
    vertexFailJobs: jobSpec,
    vertexCutoffRows: count,
    vertexOutputInfoHiddenPolls: count,
    vertexEchoTopLevelFields: z.boolean(),
    vertexMaxJobRequests: z.number().int().positive(),
    vertexMaxJobBytes: z.number().int().positive(),
    expiredTokenResponses: count,
    gcsCutDownloads: count,
  })
  .partial()
  .strict();

export class EmulatorOptionsError extends Error {
  readonly code = 'ERR_INVALID_OPTIONS';
  constructor(message: string) {
    super(message);
    this.name = 'EmulatorOptionsError';
  }
}

/** Throws EmulatorOptionsError naming every bad option; returns the options unchanged (never a mutated copy). */
export function checkOptions(opts: EmulatorOptions): EmulatorOptions {
  const r = schema.safeParse(opts);
  if (!r.success) {
    const issues = r.error.issues.map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message));
    throw new EmulatorOptionsError(`startEmulator: invalid options: ${issues.join('; ')}`);
  }
  return opts;
}
