/** The end-of-run summary: what was done, what it cost, how long it took. */
import type { LostWork } from '../journal/types.js';
import type { ProgressSnapshot } from '../types.js';
import { duration, int } from './format.js';
import { estimateCost, formatUsd, outputTokens, type TokenCounts } from './prices.js';

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
  /** USD at batch price; undefined for a model with no known price. */
  estimatedCostUsd?: number;
  wallMs: number;
  output: string;
  /** Chunks redone because the service no longer had their work; `paid` ones had already run. */
  lost?: { chunks: number; paid: number };
}

export function buildSummary(a: {
  model: string;
  progress: ProgressSnapshot;
  resumed: number;
  batches: number;
  wallMs: number;
  output: string;
  lost?: readonly LostWork[];
}): Summary {
  const cost = estimateCost(a.model, a.progress.tokens);
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
    wallMs: a.wallMs,
    output: a.output,
    ...(lost.length ? { lost: { chunks: lost.length, paid: lost.filter((l) => l.paid).length } } : {}),
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
    s.tokens.total > 0 ? `${int(s.tokens.prompt)} in, ${int(outputTokens(s.tokens))} out` : 'none reported by the service';
  const cost =
    s.estimatedCostUsd === undefined
      ? `unknown model ${s.model}: no estimate`
      : s.tokens.total === 0
        ? 'no token counts: no estimate'
        : `~${formatUsd(s.estimatedCostUsd)} at batch price (${s.model})`;
  return [
    `gemini-batch: done in ${duration(s.wallMs)}`,
    `  records  ${int(s.records)}`,
    `  results  ${results}${resumed}`,
    `  batches  ${int(s.batches)}`,
    `  tokens   ${tokens}`,
    `  cost     ${cost}`,
    `  output   ${s.output === '-' ? 'stdout' : s.output}`,
    ...(s.lost
      ? [
          `  redone   ${int(s.lost.chunks)} batch${s.lost.chunks === 1 ? '' : 'es'} the service no longer had (cancelled, expired or deleted)` +
            (s.lost.paid ? `; ${int(s.lost.paid)} had already run: that paid work was lost and paid again` : ''),
        ]
      : []),
  ].join('\n');
}
