/** uploader() options. */
import { z } from 'zod/v3';
import { fields, positiveInt } from './fields.js';

export const uploaderOptionsSchema = z
  .object({
    /** Concurrent uploads. */
    uploadConcurrency: positiveInt.max(64).default(2),
    /** Chunks whose results were all emitted by an earlier run need no upload. */
    skipResults: fields.skipResults,
  })
  .strict();

export type UploaderOptions = z.input<typeof uploaderOptionsSchema>;
export type ResolvedUploaderOptions = z.output<typeof uploaderOptionsSchema>;
