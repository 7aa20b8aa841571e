/**
 * Stage 4's options for surviving the real service (issue 10): how long to
 * wait on each of its quirks. Every one is bounded: nothing waits for ever.
 * The defaults are defined here once; the stage's cores fall back to the
 * same constants when driven directly (tests).
 */
import { z } from 'zod/v3';

/** With none of our batches queued, how long 429s on create are waited through. */
export const DEFAULT_QUOTA_WAIT_MS = 10 * 60_000;
/** How long a create whose answer was lost is looked for (repeated lists) before creating again. */
export const DEFAULT_ADOPT_WINDOW_MS = 90_000;
/** How long a SUCCEEDED batch without output is polled for its output. */
export const DEFAULT_OUTPUT_WAIT_MS = 15 * 60_000;
/** Our uploaded, not yet deleted bytes stay under this: the project's 20 GB. */
export const DEFAULT_STORAGE_BUDGET_BYTES = 20_000_000_000;

/** A zod fragment merged into the submitter's options schema. */
export const survivalOptionsSchema = {
  /** With none of our batches queued, how long 429s on create are waited through before failing (default 10 min). */
  quotaWaitMs: z.number().int().positive().default(DEFAULT_QUOTA_WAIT_MS),
  /** How long a create whose answer was lost is looked for by displayName before creating again (default 90 s). */
  adoptWindowMs: z.number().int().positive().default(DEFAULT_ADOPT_WINDOW_MS),
  /** How long a SUCCEEDED batch without output is polled for its output (default 15 min). */
  outputWaitMs: z.number().int().positive().default(DEFAULT_OUTPUT_WAIT_MS),
  /** Our uploaded, not yet deleted bytes stay under this (default 20 GB, the project's storage). */
  storageBudgetBytes: z.number().int().positive().default(DEFAULT_STORAGE_BUDGET_BYTES),
};
