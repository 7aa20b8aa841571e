/**
 * The spending cap (issue 20): stage 4 reserves each chunk's estimated cost
 * before its create and sends it only if what was spent, what is reserved and
 * this chunk fit under maxUsd; a chunk's reservation becomes its real cost
 * once its results are on disk.
 */
import { z } from 'zod/v3';
import { positiveInt } from './fields.js';

export const budgetOptionsSchema = z
  .object({
    /** The most this run may spend, in US dollars (batch prices), resumed sessions included. */
    maxUsd: z.number().positive().finite(),
    /**
     * Output tokens to assume per request that sets no generationConfig.maxOutputTokens
     * (thinking included). Without it such a request makes the budget refuse to run.
     */
    outputTokens: positiveInt.optional(),
    /** When the next chunk does not fit: 'stop' submitting (jobs in flight finish), or also 'cancel' those in flight. */
    onExceed: z.enum(['stop', 'cancel']).default('stop'),
  })
  .strict();

export type BudgetOptions = z.input<typeof budgetOptionsSchema>;
export type BudgetSettings = z.output<typeof budgetOptionsSchema>;
