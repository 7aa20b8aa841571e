/**
 * The summary of a run over Cloud Storage objects, read back from the
 * objects' ordered results files (local disk, block reads): results ok and
 * by error status, tokens, and the cost at batch price by the model that
 * answered, as the CLI's summary shows for a local INPUT.
 */
import { UsageTally, priceTally } from '../../cost/cost.js';
import type { PriceTable } from '../../cost/prices.js';
import { forEachLineAsync } from '../../internal/io/lines.js';
import { readResultError } from '../../internal/wire/result-error.js';
import { isSuccessLine } from '../../internal/wire/result-line.js';
import { readUsage } from '../../internal/wire/usage.js';
import type { Summary } from '../summary.js';

export interface SummaryInput {
  model: string;
  /** Each object's results file, in OUT's order, and whether an earlier session finished it. */
  parts: Array<{ path: string; earlier: boolean }>;
  batches: number;
  wallMs: number;
  output: string;
  prices?: PriceTable;
}

export async function summarise(a: SummaryInput): Promise<Summary> {
  const tokens = { prompt: 0, candidates: 0, thoughts: 0, cached: 0, total: 0 };
  const usage = new UsageTally();
  const errors: Record<string, number> = {};
  let records = 0;
  let resumed = 0;
  let ok = 0;
  for (const part of a.parts) {
    await forEachLineAsync(part.path, (line) => {
      records++;
      if (part.earlier) resumed++;
      if (!isSuccessLine(line)) {
        const status = readResultError(line)?.status ?? 'UNKNOWN';
        errors[status] = (errors[status] ?? 0) + 1;
        return;
      }
      ok++;
      const u = readUsage(line);
      if (!u) return;
      tokens.prompt += u.prompt;
      tokens.candidates += u.candidates;
      tokens.thoughts += u.thoughts;
      tokens.cached += u.cached;
      tokens.total += u.total;
      usage.add(u, u.modelVersion);
    });
  }
  const priced = priceTally(usage.snapshot(), a.model, a.prices);
  return {
    model: a.model,
    records,
    written: records - resumed,
    resumed,
    ok,
    errors: Object.fromEntries(Object.entries(errors).sort((x, y) => y[1] - x[1])),
    batches: a.batches,
    tokens,
    ...(priced.usd !== undefined ? { estimatedCostUsd: priced.usd } : {}),
    ...(priced.byModel.length ? { costByModel: priced.byModel } : {}),
    ...(priced.unknownModels.length ? { unknownModels: priced.unknownModels } : {}),
    wallMs: a.wallMs,
    output: a.output,
  };
}
