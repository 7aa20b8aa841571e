/**
 * Batch prices (USD per 1M tokens) and how a model name finds its price.
 *
 * Source: PROTOCOL.md "Prices, models and request storage" (the published
 * price pages as of December 2026). Batch bills 50% of the standard price;
 * cached prompt tokens bill at the normal (non-batch) cache price; thinking
 * tokens bill as output; prompts over 200k tokens use the higher tier on the
 * models that have one. A price that changes on a date changes on that date
 * (UTC). An estimate, not a bill.
 *
 * A name finds its price by: dropping `models/` and an `@...` suffix (the
 * response's modelVersion is `gemini-3-flash-preview@default`); the user's
 * table first, then the routing of retired names (3.5 Flash answers as 3.6
 * Flash, 3.7 Flash as 3.8 Flash), then this table. A dated variant
 * (`gemini-2.5-flash-preview-09-2025`, `-latest`, `-001`) takes its family's
 * price; any other suffix (`-image`, `-tts`) is another model and unknown.
 * Retired models (`gemini-2.0-*`, `text-embedding-004`) are not here: unknown.
 */
import { z } from 'zod/v3';
import { GeminiBatchError } from '../errors.js';

/** One model's batch prices, USD per 1M tokens. */
export interface ModelPrice {
  input: number;
  /** Output, thinking included (0 for embeddings). */
  output: number;
  /** Cached prompt tokens; absent: billed at `input` (the higher, safe side). */
  cached?: number;
  /** Prompts over 200k tokens (the whole request), where the model has a higher tier. */
  inputOver200k?: number;
  outputOver200k?: number;
  cachedOver200k?: number;
}

/** A user's table: model name → price (adds models or overrides the built-in ones). */
export type PriceTable = Record<string, ModelPrice>;

/** A price from a date on (inclusive, UTC `YYYY-MM-DD`); the first span has no start. */
interface PriceSpan {
  from?: string;
  price: ModelPrice;
}

/** The date the table below was taken (README, "Cost"). */
export const PRICES_AS_OF = '2026-12';

const BUILT_IN: Record<string, readonly PriceSpan[]> = {
  'gemini-2.5-flash': [{ price: { input: 0.15, output: 1.25, cached: 0.03 } }],
  'gemini-2.5-flash-lite': [{ price: { input: 0.05, output: 0.2, cached: 0.01 } }],
  'gemini-2.5-pro': [
    { price: { input: 0.625, output: 5, cached: 0.125, inputOver200k: 1.25, outputOver200k: 7.5, cachedOver200k: 0.25 } },
  ],
  'gemini-3-flash-preview': [{ price: { input: 0.25, output: 1.5 } }],
  'gemini-3.1-pro-preview': [{ price: { input: 1, output: 6, inputOver200k: 2, outputOver200k: 9 } }],
  'gemini-3.1-flash-lite': [{ price: { input: 0.125, output: 0.75, cached: 0.025 } }],
  'gemini-3.5-flash-lite': [{ price: { input: 0.15, output: 1.25, cached: 0.03 } }],
  'gemini-3.6-flash': [{ price: { input: 0.75, output: 3.75, cached: 0.15 } }],
  'gemini-3.8-flash': [
    { price: { input: 0.375, output: 1.875 } },
    { from: '2027-01-01', price: { input: 0.75, output: 3.75 } },
  ],
  'gemini-embedding-001': [{ price: { input: 0.075, output: 0 } }],
  'gemini-embedding-2': [{ price: { input: 0.1, output: 0 } }],
};

/** Retired names the service routes silently to a newer model (PROTOCOL.md). */
const ROUTED: Record<string, string> = {
  'gemini-3.5-flash': 'gemini-3.6-flash',
  'gemini-3.7-flash': 'gemini-3.8-flash',
};

/** Suffixes that name a dated build of the same model, not another model. */
const VARIANT = /^(-preview|-latest|-exp)?(-\d[\d-]*)?$/;

/** `models/gemini-3-flash-preview@default` → `gemini-3-flash-preview`. */
export function modelName(model: string): string {
  const name = model.trim().replace(/^models\//, '');
  const at = name.indexOf('@');
  return at === -1 ? name : name.slice(0, at);
}

/** The key of `table` that `name` is, or a dated variant of (the longest such family). */
function familyIn(table: object, name: string): string | undefined {
  if (Object.hasOwn(table, name)) return name;
  let best: string | undefined;
  for (const family of Object.keys(table)) {
    if (name.startsWith(family) && VARIANT.test(name.slice(family.length)) && (!best || family.length > best.length)) best = family;
  }
  return best;
}

/** `YYYY-MM-DD` of a date in UTC. */
export function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

export interface ResolvedPrice {
  /** The model whose price this is (after routing): what the cost is reported under. */
  model: string;
  price: ModelPrice;
}

/** The price `model` bills at on `date`; undefined for an unknown model (its cost is unknown, never $0). */
export function priceOf(model: string, date: Date = new Date(), user: PriceTable = {}): ResolvedPrice | undefined {
  const name = modelName(model);
  const own = familyIn(user, name);
  if (own) return { model: own, price: user[own]! };
  const routed = ROUTED[name] ?? name;
  if (routed !== name) {
    const ownRouted = familyIn(user, routed);
    if (ownRouted) return { model: ownRouted, price: user[ownRouted]! };
  }
  const family = familyIn(BUILT_IN, routed);
  if (!family) return undefined;
  const day = utcDay(date);
  let price: ModelPrice | undefined;
  for (const span of BUILT_IN[family]!) if (span.from === undefined || span.from <= day) price = span.price;
  return price ? { model: family, price } : undefined;
}

const usd = z.number().finite().nonnegative();
const priceSchema = z
  .object({
    input: usd,
    output: usd,
    cached: usd.optional(),
    inputOver200k: usd.optional(),
    outputOver200k: usd.optional(),
    cachedOver200k: usd.optional(),
  })
  .strict();

/** Schema of a user price table (`prices` option, `--prices FILE`): `{model: {input, output, cached?, ...Over200k?}}`, USD per 1M batch tokens. */
export const priceTableSchema = z.record(z.string().min(1), priceSchema);

/** Parse a user price table from JSON text; one sentence on what is wrong. */
export function parsePriceTable(text: string, where = 'prices'): PriceTable {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new GeminiBatchError('ERR_INVALID_OPTIONS', `${where} is not JSON: ${(err as Error).message}`);
  }
  const parsed = priceTableSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new GeminiBatchError(
      'ERR_INVALID_OPTIONS',
      `${where}: ${issue?.path.join('.') || 'the table'} ${issue?.message ?? 'is invalid'} (expected {"model": {"input": USD per 1M, "output": USD per 1M, "cached"?: ...}})`,
    );
  }
  // Names as the responses give them: a user may write `models/x`.
  return Object.fromEntries(Object.entries(parsed.data).map(([k, v]) => [modelName(k), v]));
}
