/**
 * What tokens cost: one response (costOfUsage), a run's responses tallied by
 * model, tier and day (UsageTally, priced by priceTally), and a chunk before
 * it is sent (estimateChunkCost, reserveFor: the pieces a budget reserves
 * with). Pure functions over the price table (prices.ts).
 */
import { priceOf, utcDay, type ModelPrice, type PriceTable } from './prices.js';

/** The higher tier applies to a request whose prompt is over this many tokens. */
export const TIER_TOKENS = 200_000;

/** The token counts of one response (or a sum of them in one tier), as usageMetadata gives them. */
export interface UsageCounts {
  prompt: number;
  candidates: number;
  /** Thinking tokens: billed as output. */
  thoughts?: number;
  /** Prompt tokens served from a cache (part of prompt). */
  cached?: number;
  /** When given, output is at least total - prompt (a service that reports only totals). */
  total?: number;
}

/** Tokens billed as output: candidates plus thinking (or total - prompt when that is more). */
export function billedOutput(u: UsageCounts): number {
  const out = u.candidates + (u.thoughts ?? 0);
  return u.total !== undefined ? Math.max(out, u.total - u.prompt) : out;
}

/** USD of tokens in one tier at one price. */
function priceTokens(u: UsageCounts, p: ModelPrice, over: boolean): number {
  const cached = Math.min(u.cached ?? 0, u.prompt);
  const input = over ? (p.inputOver200k ?? p.input) : p.input;
  const output = over ? (p.outputOver200k ?? p.output) : p.output;
  const cachedPrice = (over ? (p.cachedOver200k ?? p.cached) : p.cached) ?? input;
  return ((u.prompt - cached) * input + cached * cachedPrice + billedOutput(u) * output) / 1_000_000;
}

/**
 * USD of one response: priced by the model that answered (its modelVersion),
 * else the requested model; in the higher tier when its own prompt is over
 * 200k tokens. Undefined when the model has no known price.
 */
export function costOfUsage(u: UsageCounts, modelVersion: string | undefined, date: Date = new Date(), opts: { requested?: string; prices?: PriceTable } = {}): number | undefined {
  const model = modelVersion || opts.requested;
  const p = model ? priceOf(model, date, opts.prices) : undefined;
  return p ? priceTokens(u, p.price, u.prompt > TIER_TOKENS) : undefined;
}

/**
 * costOfUsage over a stream of responses (a results file: one model, one
 * day, 100,000s of lines): the price is looked up again only when the model
 * or the UTC day changes, not per response (the lookup's name normalising
 * and date formatting cost more than the pricing). Same figures as
 * costOfUsage: a price depends on nothing but the model and the day.
 */
export class PriceMemo {
  private model: string | undefined;
  private dayStart = 0;
  private dayEnd = 0;
  private price: ModelPrice | undefined;

  constructor(private readonly prices: PriceTable = {}) {}

  costOf(u: UsageCounts, modelVersion: string | undefined, requested: string | undefined, date: Date): number | undefined {
    const model = modelVersion || requested;
    if (!model) return undefined;
    const t = date.getTime();
    if (model !== this.model || !(t >= this.dayStart && t < this.dayEnd)) {
      this.model = model;
      this.dayStart = Date.parse(`${utcDay(date)}T00:00:00Z`);
      this.dayEnd = this.dayStart + 86_400_000;
      this.price = priceOf(model, date, this.prices)?.price;
    }
    return this.price ? priceTokens(u, this.price, u.prompt > TIER_TOKENS) : undefined;
  }
}

/** Summed usage of the responses of one model, tier and day: priced exactly as each response would be. */
export interface UsageBucket {
  /** The response's modelVersion ('' when it had none: priced as the requested model). */
  model: string;
  /** Prompts over 200k tokens. */
  over200k: boolean;
  /** UTC day the results were read (`YYYY-MM-DD`): prices change on a date. */
  day: string;
  responses: number;
  prompt: number;
  candidates: number;
  thoughts: number;
  cached: number;
}

/** Most buckets kept: a service inventing model names cannot grow it; the rest go to the requested model. */
const MAX_BUCKETS = 64;

/** Responses' usage summed by (model, tier, day): a few buckets for a run of any length. */
export class UsageTally {
  private readonly buckets = new Map<string, UsageBucket>();
  /** The bucket of the last response: most responses of a run go to the same one (no key built). */
  private last: UsageBucket | undefined;
  /** Today (UTC) and when it ends, so a response does not format a date. */
  private today = '';
  private todayEndsAt = 0;

  /** Add one response's usage; `date` (default now) is the day it is priced on. */
  add(u: UsageCounts, modelVersion: string | undefined, date?: Date): void {
    let model = modelVersion ?? '';
    const over200k = u.prompt > TIER_TOKENS;
    const day = date ? utcDay(date) : this.currentDay();
    let b = this.last;
    if (!b || b.model !== model || b.over200k !== over200k || b.day !== day) {
      let id = `${model}\t${over200k ? 1 : 0}\t${day}`;
      if (!this.buckets.has(id) && this.buckets.size >= MAX_BUCKETS) {
        model = '';
        id = `\t${over200k ? 1 : 0}\t${day}`;
      }
      b = this.buckets.get(id);
      if (!b) this.buckets.set(id, (b = { model, over200k, day, responses: 0, prompt: 0, candidates: 0, thoughts: 0, cached: 0 }));
      this.last = b;
    }
    b.responses++;
    b.prompt += u.prompt;
    // Output as billed: a response that gave only totals counts total - prompt.
    const thoughts = u.thoughts ?? 0;
    b.candidates += billedOutput(u) - thoughts;
    b.thoughts += thoughts;
    b.cached += u.cached ?? 0;
  }

  private currentDay(): string {
    const now = Date.now();
    if (now >= this.todayEndsAt) {
      this.today = utcDay(new Date(now));
      this.todayEndsAt = Date.parse(`${this.today}T00:00:00Z`) + 86_400_000;
    }
    return this.today;
  }

  snapshot(): UsageBucket[] {
    return [...this.buckets.values()].map((b) => ({ ...b }));
  }
}

export interface ModelCost {
  /** The model as priced (after routing), or the name that had no price. */
  model: string;
  responses: number;
  /** Undefined: no known price. */
  usd: number | undefined;
}

export interface RunCost {
  /** Total USD of the priced responses; undefined when any response's model has no price (never a partial $ shown as whole). */
  usd: number | undefined;
  /** USD of the responses that had a price. */
  knownUsd: number;
  /** Models with no price (their responses are not in knownUsd). */
  unknownModels: string[];
  byModel: ModelCost[];
}

/** Price a tally: each bucket at its model's price on its day, in its tier. */
export function priceTally(buckets: readonly UsageBucket[], requested: string, prices: PriceTable = {}): RunCost {
  const byModel = new Map<string, ModelCost>();
  let known = 0;
  for (const b of buckets) {
    const name = b.model || requested;
    const p = priceOf(name, new Date(`${b.day}T12:00:00Z`), prices);
    const key = p?.model ?? name;
    const m = byModel.get(key) ?? { model: key, responses: 0, usd: p ? 0 : undefined };
    m.responses += b.responses;
    if (p) {
      const usd = priceTokens(b, p.price, b.over200k);
      m.usd = (m.usd ?? 0) + usd;
      known += usd;
    }
    byModel.set(key, m);
  }
  const unknownModels = [...byModel.values()].filter((m) => m.usd === undefined).map((m) => m.model);
  return { usd: unknownModels.length ? undefined : known, knownUsd: known, unknownModels, byModel: [...byModel.values()] };
}

/** What a chunk's cost is estimated from, before it is sent. */
export interface ChunkEstimateInput {
  /** Estimated input tokens of its requests (the chunker's estimate, or a corrected one). */
  inputTokens: number;
  /** Requests in it. */
  requests: number;
  /** Output tokens assumed for the chunk (sum over its requests); undefined: not known. */
  outputTokens?: number;
  /** Requests whose prompt is over 200k tokens (priced in the higher tier); default none. */
  over200kInputTokens?: number;
}

export interface ChunkCost {
  /** Input only, plus the smallest answer (MIN_OUTPUT_TOKENS a request). */
  low: number;
  /** Input plus the output assumption; undefined when the output is not known. */
  high: number | undefined;
}

/** The least a generated answer costs: one token and its end. */
export const MIN_OUTPUT_TOKENS = 1;

/** Estimated USD of a chunk at batch price on `date`; undefined for an unknown model. */
export function estimateChunkCost(c: ChunkEstimateInput, model: string, date: Date = new Date(), prices: PriceTable = {}): ChunkCost | undefined {
  const p = priceOf(model, date, prices);
  if (!p) return undefined;
  const over = Math.min(c.over200kInputTokens ?? 0, c.inputTokens);
  const at = (output: number) =>
    priceTokens({ prompt: c.inputTokens - over, candidates: output }, p.price, false) + priceTokens({ prompt: over, candidates: 0 }, p.price, true);
  return { low: at(c.requests * MIN_OUTPUT_TOKENS), high: c.outputTokens === undefined ? undefined : at(c.outputTokens) };
}

/**
 * What a budget reserves before creating a chunk's batch: its high estimate.
 * Undefined when the output is not known (the budget must then be refused:
 * give maxOutputTokens on the requests or an outputTokens per request) or
 * the model has no price.
 */
export function reserveFor(c: ChunkEstimateInput, model: string, date: Date = new Date(), prices: PriceTable = {}): number | undefined {
  return estimateChunkCost(c, model, date, prices)?.high;
}

export function formatUsd(usd: number): string {
  if (usd === 0) return '$0.00';
  if (usd < 0.0001) return '<$0.0001';
  if (usd < 0.01) return `$${usd.toFixed(4)}`;
  return `$${usd.toFixed(2)}`;
}
