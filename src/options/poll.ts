/**
 * The poll policy's defaults, defined once: geminiBatch's schema and the API
 * client's waitForBatch both read them (they used to say 2 s and 5 s).
 */
export const DEFAULT_POLL_INTERVAL = {
  /** First pause after a create. */
  initialMs: 2_000,
  /** Longest pause between two polls. */
  maxMs: 60_000,
  /** A pause is never longer than this fraction of the job's age (a finished job is noticed soon). */
  ageFraction: 0.2,
} as const;
