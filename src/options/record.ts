/** toRequestLine() options: how records become request lines. */
import { z } from 'zod/v3';
import type { WireCodec } from '../backend/types.js';
import type { BatchRecord, RequestLine } from '../types.js';
import { fields, positiveInt } from './fields.js';

/** The record options geminiBatch() takes (composed into its schema). */
export const recordOptionsSchema = z
  .object({
    /** Map any record to {key, request}; default: the record already is one. */
    toRequest: z.custom<(record: never, seq: number) => BatchRecord>((v) => typeof v === 'function', 'must be a function').optional(),
    /** 'error' fails the stream on a bad record; 'emit' turns it into that record's {key, error}. */
    onInvalid: z.enum(['error', 'emit']).default('error'),
    /** Longest serialised request line accepted (default: the service's limit). */
    maxLineBytes: positiveInt.optional(),
    /**
     * false: every request says `"store": false`, opting out of request
     * storage (on by default for new paid projects since 2026-10-26). Developer
     * API only: a backend that refuses the field refuses the option (checkStoreOption).
     */
    store: z.boolean().optional(),
  })
  .strict();

/** The stage's own schema: the record options plus what the assembly lends it. */
export const toRequestLineOptionsSchema = recordOptionsSchema
  .extend({
    task: fields.task,
    /** Name errors of records that are not SourceLines by seq + 1 ("line N") instead of "record N". */
    lineNumbers: z.boolean().optional(),
    /** Records already consumed upstream (the seq of the first record written). */
    firstSeq: z.number().int().nonnegative().optional(),
    /** Called with every line made (progress counting without a stage of its own). */
    onLine: z.custom<(line: RequestLine) => void>((v) => typeof v === 'function', 'must be a function').optional(),
    /** The backend's line rules (the run lends its backend's). */
    wire: z.custom<WireCodec>((v) => typeof v === 'object' && v !== null, 'must be a backend wire codec').optional(),
  })
  .strict();
