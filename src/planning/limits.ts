/**
 * What one batch may be on the Developer API (PROTOCOL.md): the service's
 * limits and the project's known enqueued-token quota per model and tier.
 */
import { modelName } from '../cost/prices.js';

export const SERVICE_LIMITS = {
  /** One uploaded file. */
  fileBytes: 2_147_483_648,
  /** One inline create body. */
  inlineBytes: 20_000_000,
  /** Requests in one batch. */
  requests: 200_000,
} as const;

export type Tier = 1 | 2 | 3;

/** Tier 1 enqueued tokens per model (PROTOCOL.md, "Quotas"). */
const TIER1: Readonly<Record<string, number>> = {
  'gemini-2.5-flash': 3_000_000,
  'gemini-2.5-pro': 5_000_000,
  'gemini-2.5-flash-lite': 10_000_000,
  'gemini-3-pro-preview': 50_000_000,
};
/** Tier 2 is 270M to 1B by model, tier 3 1B and up: the low end is what is known to fit. */
const AT_LEAST: Record<Exclude<Tier, 1>, number> = { 2: 270_000_000, 3: 1_000_000_000 };

/** The enqueued-token quota of `model` at `tier`, or undefined when it is not published. */
export function enqueuedTokenQuota(model: string, tier: Tier): number | undefined {
  if (tier !== 1) return AT_LEAST[tier];
  return TIER1[modelName(model)];
}
