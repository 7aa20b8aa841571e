/** resultDemuxer() options. */
import { z } from 'zod/v3';
import { fields } from './fields.js';

export const demuxerOptionsSchema = z
  .object({
    task: fields.task,
    /** false: emit each batch's results as soon as it is done (default: input order). */
    ordered: fields.ordered,
    /** 'objects' emits KeyedResult objects; 'jsonl' one Buffer line per result (no re-parse). */
    output: z.enum(['objects', 'jsonl']).default('objects'),
    /** Do not emit results below this seq. */
    skipResults: fields.skipResults,
    /** Index of the first chunk. */
    firstIndex: z.number().int().nonnegative().default(0),
    /** Remove spool and results files once emitted. */
    removeFiles: z.boolean().default(true),
  })
  .strict();

export type ResultDemuxerOptions = z.input<typeof demuxerOptionsSchema>;
