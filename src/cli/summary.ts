/** The end-of-run summary: what was done, what it cost, how long it took. */
import type { LostWork } from '../journal/types.js';
import type { ProgressSnapshot } from '../types.js';
import { duration, int } from './format.js';
import { billedOutput, formatUsd, priceTally, type ModelCost } from '../cost/cost.js';
import type { PriceTable } from '../cost/prices.js';
import type { BatchCost } from '../journal/types.js';

type TokenCounts = ProgressSnapshot['tokens'];

export interface Summary {
  model: string;
  records: number;
  /** Results written by this run. */
  written: number;
  /** Results kept from an earlier, interrupted run. */
  resumed: number;
  ok: number;
  errors: Record<string, number>;
  batches: number;
  tokens: TokenCounts;
  /** USD at batch price; undefined when a model that answered has no known price (never a partial sum shown as whole). */
  estimatedCostUsd?: number;
  /** Cost by the model that answered (modelVersion, routed names as what they route to); usd undefined: no price. */
  costByModel?: ModelCost[];
  /** Models with no known price (give them with --prices). */
  unknownModels?: string[];
  wallMs: number;
  output: string;
  /** Chunks redone because the service no longer had their work; `paid` ones had already run. */
  lost?: { chunks: number; paid: number };
  /**
   * The whole run's cost from the journal (every session's batches, each
   * counted once by name): USD of the priced results, and how many results
   * had no known price. Only with a state dir.
   */
  runCost?: { usd: number; batches: number; unpriced: number };
  /** A --retry-failed rerun of a finished run: the records it sent again and how they came back. */
  resent?: { records: number; answered: number; failing: number; notSent: number };
}

export function buildSummary(a: {
  model: string;
  progress: ProgressSnapshot;
  resumed: number;
  batches: number;
  wallMs: number;
  output: string;
  lost?: readonly LostWork[];
  prices?: PriceTable;
  /** The journal's cost of each batch, this session's and earlier ones'. */
  journaledCosts?: readonly BatchCost[];
}): Summary {
  // Each response priced by the model that answered it, in its own tier, on its day.
  const priced = priceTally(a.progress.usage ?? [], a.model, a.prices);
  const cost = priced.usd;
  const lost = a.lost ?? [];
  return {
    model: a.model,
    records: a.progress.recordsIn,
    // The library's own per-result statuses: this run's results, as written to OUT.
    written: a.progress.resultsOut,
    resumed: a.resumed,
    ok: a.progress.resultsOut - a.progress.errorsOut,
    errors: Object.fromEntries(Object.entries(a.progress.errorsByStatus).sort((x, y) => y[1] - x[1])),
    batches: a.batches,
    tokens: a.progress.tokens,
    ...(cost !== undefined ? { estimatedCostUsd: cost } : {}),
    ...(priced.byModel.length ? { costByModel: priced.byModel } : {}),
    ...(priced.unknownModels.length ? { unknownModels: priced.unknownModels } : {}),
    wallMs: a.wallMs,
    output: a.output,
    ...(lost.length ? { lost: { chunks: lost.length, paid: lost.filter((l) => l.paid).length } } : {}),
    ...(a.journaledCosts?.length
      ? {
          runCost: {
            usd: a.journaledCosts.reduce((t, c) => t + c.usd, 0),
            batches: a.journaledCosts.length,
            unpriced: a.journaledCosts.reduce((t, c) => t + (c.unpriced ?? 0), 0),
          },
        }
      : {}),
  };
}

export function formatSummary(s: Summary): string {
  const errorCount = Object.values(s.errors).reduce((a, b) => a + b, 0);
  const byStatus = Object.entries(s.errors)
    .map(([status, n]) => `${int(n)} ${status}`)
    .join(', ');
  const results = `${int(s.ok)} ok, ${int(errorCount)} error${errorCount === 1 ? '' : 's'}${errorCount ? ` (${byStatus})` : ''}`;
  const resumed = s.resumed ? `; ${int(s.resumed)} kept from the interrupted run` : '';
  const tokens =
    s.tokens.total > 0
      ? `${int(s.tokens.prompt)} in${s.tokens.cached ? ` (${int(s.tokens.cached)} cached)` : ''}, ${int(billedOutput(s.tokens))} out${s.tokens.thoughts ? ` (${int(s.tokens.thoughts)} thinking)` : ''}`
      : 'none reported by the service';
  return [
    `gemini-batch: done in ${duration(s.wallMs)}`,
    `  records  ${int(s.records)}`,
    `  results  ${results}${resumed}`,
    ...(s.resent
      ? [`  resent   ${int(s.resent.records)} record${s.resent.records === 1 ? '' : 's'} with retryable errors: ${int(s.resent.answered)} now answered, ${int(s.resent.failing)} still failing${s.resent.notSent ? `, ${int(s.resent.notSent)} not sent (budget)` : ''}`]
      : []),
    `  batches  ${int(s.batches)}`,
    `  tokens   ${tokens}`,
    `  cost     ${costLine(s)}`,
    // A resumed run's session saw only part of the answers: the journal has every batch's.
    ...(s.runCost && (s.resumed > 0 || s.lost) ? [`  run cost ${runCostLine(s.runCost)}`] : []),
    `  output   ${s.output === '-' ? 'stdout' : s.output}`,
    ...(s.lost
      ? [
          `  redone   ${int(s.lost.chunks)} batch${s.lost.chunks === 1 ? '' : 'es'} the service no longer had (cancelled, expired or deleted)` +
            (s.lost.paid ? `; ${int(s.lost.paid)} had already run: that paid work was lost and paid again` : ''),
        ]
      : []),
  ].join('\n');
}

/** The whole run's cost, sessions and redone batches included; unpriced results are said, never $0. */
function runCostLine(c: NonNullable<Summary['runCost']>): string {
  const unpriced = c.unpriced ? `, ${int(c.unpriced)} results of models with no known price not included` : '';
  return `~${formatUsd(c.usd)} for the whole run (${int(c.batches)} batch${c.batches === 1 ? '' : 'es'}, earlier sessions included${unpriced})`;
}

/** The cost line: the total, by model when more than one answered; an unknown price is said, never $0. */
function costLine(s: Summary): string {
  const models = s.costByModel ?? [];
  if (s.tokens.total === 0 || models.length === 0) return 'no token counts: no estimate';
  const names = models.map((m) => m.model).join(', ');
  if (s.unknownModels?.length) {
    const known = models.filter((m) => m.usd !== undefined);
    const part = known.length ? `; ~${formatUsd(known.reduce((a, m) => a + (m.usd ?? 0), 0))} for ${known.map((m) => m.model).join(', ')}` : '';
    return `unknown: no price for ${s.unknownModels.join(', ')} (give one with --prices FILE)${part}`;
  }
  const each = models.length > 1 ? ` (${models.map((m) => `${m.model} ${formatUsd(m.usd ?? 0)}`).join(', ')})` : ` (${names})`;
  return `~${formatUsd(s.estimatedCostUsd ?? 0)} at batch price${each}`;
}
