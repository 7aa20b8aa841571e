/** The HTTP retry policy's options: one schema, used by createGeminiClient() and geminiBatch() alike. */
import { z } from 'zod/v3';

const positiveInt = z.number().int().positive();

/** Defaults are the client's (api/retry.ts DEFAULT_RETRY): absent fields keep them. */
export const retryOptionsSchema = z
  .object({
    /** Total attempts per call, first one included. */
    maxAttempts: positiveInt.optional(),
    initialDelayMs: z.number().int().nonnegative().optional(),
    maxDelayMs: z.number().int().nonnegative().optional(),
    maxElapsedMs: z.number().int().nonnegative().optional(),
    requestTimeoutMs: positiveInt.optional(),
  })
  .strict();
