/**
 * What the budget asks of prices (issue 20): a chunk's estimated cost before
 * its create, and a result's real cost from its usageMetadata. The price
 * table and its rules (dates, tiers, the response's modelVersion) belong to
 * src/cost/; `tablePricer` here is the minimal stand-in the budget was built
 * against: batch prices from PROTOCOL.md ("Prices") for the common models,
 * lower tier only, no dated changes. Swap it for src/cost's pricer in
 * `defaultPricer`.
 */
import type { TokenUsage } from '../../internal/wire/usage.js';

export interface Pricer {
  /** USD of a part before it is sent; undefined when the model has no known price. */
  estimateChunk(tokensIn: number, outputTokens: number, model: string): number | undefined;
  /** USD of one result as billed (batch price), by the model that answered, else the requested one; undefined: unknown. */
  costOfUsage(usage: TokenUsage, modelVersion: string | undefined, model: string): number | undefined;
}

/** USD per 1M tokens at batch price: input, output (thinking included), cached input. */
interface Price {
  input: number;
  output: number;
  cached: number;
}

const BATCH_PRICES: Record<string, Price> = {
  'gemini-2.5-flash': { input: 0.15, output: 1.25, cached: 0.03 },
  'gemini-2.5-flash-lite': { input: 0.05, output: 0.2, cached: 0.01 },
  'gemini-2.5-pro': { input: 0.625, output: 5.0, cached: 0.125 },
  'gemini-3-flash-preview': { input: 0.25, output: 1.5, cached: 0.25 },
  'gemini-3.1-flash-lite': { input: 0.125, output: 0.75, cached: 0.025 },
  'gemini-3.6-flash': { input: 0.75, output: 3.75, cached: 0.15 },
  'gemini-embedding-001': { input: 0.075, output: 0, cached: 0.075 },
};

/** `models/gemini-3-flash-preview@default` → `gemini-3-flash-preview`. */
function bare(model: string): string {
  return model.replace(/^models\//, '').replace(/@.*$/, '');
}

function priceOf(model: string): Price | undefined {
  return BATCH_PRICES[bare(model)];
}

const tablePricer: Pricer = {
  estimateChunk(tokensIn, outputTokens, model) {
    const p = priceOf(model);
    return p && (tokensIn * p.input + outputTokens * p.output) / 1e6;
  },
  costOfUsage(u, modelVersion, model) {
    const p = (modelVersion !== undefined ? priceOf(modelVersion) : undefined) ?? priceOf(model);
    if (!p) return undefined;
    const cached = Math.min(u.cached, u.prompt);
    return ((u.prompt - cached) * p.input + cached * p.cached + (u.candidates + u.thoughts) * p.output) / 1e6;
  },
};

/** The pricer stage 4's budget uses. */
export const defaultPricer: Pricer = tablePricer;
