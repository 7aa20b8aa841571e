/** What a run's spending is priced with, and the request-storage switch's backend check. */
import { z } from 'zod/v3';
import { GeminiBatchError } from '../errors.js';
import { priceTableSchema } from '../cost/prices.js';

export const costOptionsSchema = z
  .object({
    /**
     * Batch prices that add to or override the built-in table, USD per 1M
     * tokens: `{model: {input, output, cached?, inputOver200k?, outputOver200k?, cachedOver200k?}}`.
     */
    prices: priceTableSchema.optional(),
  })
  .strict();

/** Backends whose requests accept the top-level `store` field (PROTOCOL.md; VERTEX.md: Vertex refuses it). */
const STORE_FIELD_BACKENDS: ReadonlySet<string> = new Set(['gemini']);

/** `store: false` on a backend that refuses the field: one sentence, before anything is sent. */
export function checkStoreOption(backend: string, store: boolean | undefined): void {
  if (store !== false || STORE_FIELD_BACKENDS.has(backend)) return;
  throw new GeminiBatchError(
    'ERR_INVALID_OPTIONS',
    `store is a Gemini Developer API option: the ${backend} backend refuses the "store" field on requests, so leave store (--no-store) out there`,
  );
}
