/** batchSubmitter() options. */
import { z } from 'zod/v3';
import { survivalOptionsSchema } from './survival.js';
import { fields, positiveInt } from './fields.js';
import { retryOptionsSchema } from './retry.js';
import { DEFAULT_POLL_INTERVAL } from './poll.js';
import { budgetOptionsSchema } from './budget.js';

const pollIntervalSchema = z
  .object({
    initialMs: positiveInt.default(DEFAULT_POLL_INTERVAL.initialMs),
    maxMs: positiveInt.default(DEFAULT_POLL_INTERVAL.maxMs),
    /** A pause between polls is at most this fraction of the job's age. */
    ageFraction: z.number().positive().max(1).default(DEFAULT_POLL_INTERVAL.ageFraction),
  })
  .strict()
  .default({})
  .refine((p) => p.maxMs >= p.initialMs, { message: 'maxMs must be >= initialMs' });

export const submitterOptionsSchema = z
  .object({
    model: z.string({ required_error: 'model is required, e.g. "gemini-2.5-flash"' }).min(1, 'model is required, e.g. "gemini-2.5-flash"'),
    task: fields.task,
    /** Batches submitted and not yet fully emitted. */
    maxJobsInFlight: positiveInt.max(1000).default(8),
    /** Poll backoff: 2 s growing to 60 s. Also the backoff of a create that meets the quota. */
    pollInterval: pollIntervalSchema,
    /** Delete uploaded and result files on the service after use. */
    cleanupRemote: z.boolean().default(true),
    /** Attempts per chunk when a job ends FAILED. */
    maxJobAttempts: positiveInt.default(3),
    /** EXPIRED jobs are split in halves down to this many requests. */
    minSplitRequests: positiveInt.default(1),
    /** A job CANCELLED by someone else: 'emit' errors for its records or 'error' the stream. */
    onCancelled: z.enum(['emit', 'error']).default('emit'),
    /** Resubmit requests that failed with a retryable status up to N times. */
    retryFailedRequests: z.number().int().nonnegative().default(0),
    /** Inline body limit, for deciding how to send split halves and retries. */
    maxInlineBytes: fields.maxInlineBytes,
    ordered: fields.ordered,
    /** Results below this seq were emitted by an earlier run: chunks entirely below it are skipped. */
    skipResults: fields.skipResults,
    /** On abort/destroy, cancel the batches in flight and delete uploaded files. */
    cancelOnAbort: z.boolean().default(false),
    /** Bounds a create whose answer keeps getting lost (and the HTTP retries): attempts and time. */
    retry: retryOptionsSchema.optional(),
    /** A spending cap: `{maxUsd, outputTokens?, onExceed: 'stop' | 'cancel'}` (README, Budget). */
    budget: budgetOptionsSchema.optional(),
    // Quota wait, adopt window, output wait, storage budget: stage 4's survival policies.
    ...survivalOptionsSchema,
  })
  .strict();

export type BatchSubmitterOptions = z.input<typeof submitterOptionsSchema>;
