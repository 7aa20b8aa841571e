/**
 * Batch prices (USD per 1M tokens) for a cost estimate in the summary. The
 * Batch API bills 50% of the interactive list price; list prices here are the
 * paid-tier text prices published at ai.google.dev/pricing in 2025 (prompts up
 * to 200k tokens). An estimate, not a bill.
 */
export interface Price {
  inputPerM: number;
  outputPerM: number;
}

const BATCH_DISCOUNT = 0.5;

/** Interactive list prices: input, output (output includes thinking tokens). */
const LIST: Record<string, Price> = {
  'gemini-2.5-pro': { inputPerM: 1.25, outputPerM: 10 },
  'gemini-2.5-flash': { inputPerM: 0.3, outputPerM: 2.5 },
  'gemini-2.5-flash-lite': { inputPerM: 0.1, outputPerM: 0.4 },
  'gemini-2.0-flash': { inputPerM: 0.1, outputPerM: 0.4 },
  'gemini-2.0-flash-lite': { inputPerM: 0.075, outputPerM: 0.3 },
  'gemini-embedding-001': { inputPerM: 0.15, outputPerM: 0 },
  'text-embedding-004': { inputPerM: 0, outputPerM: 0 },
};

/** Batch price of a model; versioned names (gemini-2.5-flash-preview-09-2025) use their family's price. */
export function batchPrice(model: string): Price | undefined {
  const name = model.replace(/^models\//, '');
  let best: string | undefined;
  for (const family of Object.keys(LIST)) {
    if ((name === family || name.startsWith(`${family}-`)) && (!best || family.length > best.length)) best = family;
  }
  if (!best) return undefined;
  const p = LIST[best]!;
  return { inputPerM: p.inputPerM * BATCH_DISCOUNT, outputPerM: p.outputPerM * BATCH_DISCOUNT };
}

export interface TokenCounts {
  prompt: number;
  candidates: number;
  /** Thinking tokens, billed as output. */
  thoughts?: number;
  total: number;
}

/** Billed output = candidates + thinking; total - prompt covers a service that reports only totals. */
export function outputTokens(t: TokenCounts): number {
  return Math.max(t.candidates + (t.thoughts ?? 0), t.total - t.prompt);
}

export function estimateCost(model: string, tokens: TokenCounts): number | undefined {
  const p = batchPrice(model);
  if (!p) return undefined;
  return (tokens.prompt * p.inputPerM + outputTokens(tokens) * p.outputPerM) / 1_000_000;
}

export function formatUsd(usd: number): string {
  if (usd === 0) return '$0.00';
  if (usd < 0.0001) return '<$0.0001';
  if (usd < 0.01) return `$${usd.toFixed(4)}`;
  return `$${usd.toFixed(2)}`;
}
