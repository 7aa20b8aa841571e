/**
 * What the budget asks of prices (issue 20): a chunk's estimated cost before
 * its create, and a result's real cost from its usageMetadata. The price
 * table and its rules (dates, tiers, the response's modelVersion) belong to
 * src/cost/, which this only adapts.
 */
import { PriceMemo, reserveFor } from '../../cost/cost.js';
import type { PriceTable } from '../../cost/prices.js';
import type { TokenUsage } from '../../internal/wire/usage.js';

export interface Pricer {
  /** USD of a part before it is sent; undefined when the model has no known price. */
  estimateChunk(tokensIn: number, outputTokens: number, model: string): number | undefined;
  /** USD of one result as billed (batch price), by the model that answered, else the requested one; undefined: unknown. */
  costOfUsage(usage: TokenUsage, modelVersion: string | undefined, model: string): number | undefined;
}

/**
 * The pricer over src/cost's table: dated prices, the higher tier for prompts
 * over 200k tokens, cached tokens at the cache price, thinking as output,
 * priced by the answering model's modelVersion with the requested one as
 * fallback, and the caller's own `prices` table on top.
 */
export function costPricer(prices: PriceTable = {}, now: () => Date = () => new Date()): Pricer {
  const memo = new PriceMemo(prices);
  return {
    estimateChunk: (tokensIn, outputTokens, model) => reserveFor({ inputTokens: tokensIn, requests: 0, outputTokens }, model, now(), prices),
    // Called per result line: the price found once per model and day (PriceMemo), the same figures as costOfUsage.
    costOfUsage: (u, modelVersion, model) => memo.costOf(u, modelVersion, model, now()),
  };
}

/** The pricer stage 4's budget uses. */
export const defaultPricer: Pricer = costPricer();
