/** The HTTP retry policy's options: one schema, used by createGeminiClient() and geminiBatch() alike. */
import { z } from 'zod/v3';

const positiveInt = z.number().int().positive();

/** Defaults are the client's (api/retry.ts DEFAULT_RETRY): absent fields keep them. */
export const retryOptionsSchema = z
  .object({
    /** Total attempts per call, first one included (default 8). */
    maxAttempts: positiveInt.optional(),
    /** First backoff in ms (default 500). */
    initialDelayMs: z.number().int().nonnegative().optional(),
    /** Backoff ceiling in ms (default 30_000). */
    maxDelayMs: z.number().int().nonnegative().optional(),
    /** Give up once this much time has passed since the first attempt (default 10 min). */
    maxElapsedMs: z.number().int().nonnegative().optional(),
    /** Per-request timeout for headers (default 60_000). */
    requestTimeoutMs: positiveInt.optional(),
  })
  .strict();
