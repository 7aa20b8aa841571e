/** sizeChunker() options. */
import { z } from 'zod/v3';
import { DEFAULT_MAX_FILE_BYTES, fields, positiveInt } from './fields.js';

export const chunkerOptionsSchema = z
  .object({
    /** 'auto': a chunk whose create body fits maxInlineBytes goes inline, larger ones as files. */
    mode: z.enum(['auto', 'file', 'inline']).default('auto'),
    /** Largest upload per batch. */
    maxFileBytes: positiveInt.max(2_147_483_648).default(DEFAULT_MAX_FILE_BYTES),
    /** Largest inline create body, measured on the whole body. */
    maxInlineBytes: fields.maxInlineBytes,
    /** Most requests in one batch. */
    maxRequestsPerBatch: positiveInt.default(200_000),
    /**
     * Most estimated tokens in one batch (the estimate errs high; see
     * internal/wire/token-estimate.ts). Unset: no cut on tokens; a batch over
     * the project's enqueued-token quota is split when the service says so.
     */
    maxBatchTokens: positiveInt.optional(),
    /** Close a chunk this long after its first record, so a slow source still gets results. */
    flushAfterMs: positiveInt.optional(),
  })
  .strict();

export type SizeChunkerOptions = z.input<typeof chunkerOptionsSchema>;
export type ResolvedChunkerOptions = z.output<typeof chunkerOptionsSchema>;
