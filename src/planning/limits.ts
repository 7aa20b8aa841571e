/**
 * What one batch may be, as the plan shows it: the backend's job limits
 * (PROTOCOL.md, VERTEX.md) and, on the Developer API, the project's known
 * enqueued-token quota per model and tier.
 */
import type { BackendFacts } from '../backends/index.js';
import { modelName } from '../cost/prices.js';

export interface ServiceLimits {
  backend: BackendFacts['name'];
  /** One uploaded file (Developer API) or input object (Vertex). */
  fileBytes: number;
  /** One inline create body; undefined: the backend takes no inline input. */
  inlineBytes: number | undefined;
  /** Requests in one batch. */
  requests: number;
}

export function serviceLimits(facts: Pick<BackendFacts, 'name' | 'limits'>): ServiceLimits {
  return { backend: facts.name, fileBytes: facts.limits.maxInputBytes, inlineBytes: facts.limits.maxInlineBytes, requests: facts.limits.maxRequestsPerJob };
}

/** 2 GB, 1 GB, 20 MB: a limit as its documentation names it. */
export function sizeName(bytes: number): string {
  if (bytes >= 2 ** 30 && bytes % 2 ** 30 === 0) return `${bytes / 2 ** 30} GB`;
  if (bytes >= 1e9 && bytes % 1e9 === 0) return `${bytes / 1e9} GB`;
  return `${Math.round(bytes / 1e6)} MB`;
}

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
