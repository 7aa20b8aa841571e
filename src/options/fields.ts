/** Option fields more than one stage reads: defined once, so their defaults cannot drift apart. */
import { z } from 'zod/v3';

export const positiveInt = z.number().int().positive();

/** Just under the service's 2 GB per-file limit. */
export const DEFAULT_MAX_FILE_BYTES = 2_000_000_000;
/** The service's limit on an inline create body. */
export const DEFAULT_MAX_INLINE_BYTES = 20_000_000;

export const fields = {
  task: z.enum(['generate', 'embed']).default('generate'),
  ordered: z.boolean().default(true),
  skipResults: z.number().int().nonnegative().default(0),
  maxInlineBytes: positiveInt.max(DEFAULT_MAX_INLINE_BYTES * 10).default(DEFAULT_MAX_INLINE_BYTES),
};
