/** A dry run's report as text: what would be sent, in how many batches, at what cost, and whether it fits. */
import { formatUsd } from '../cost/cost.js';
import type { BatchPlan } from './plan-batch.js';
import { sizeName } from './limits.js';

const int = (n: number): string => String(Math.round(n)).replace(/\B(?=(\d{3})+$)/g, ',');
const size = (bytes: number): string => (bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${int(bytes)} B`);
/** Chunk lines shown; the rest are summed on one line. */
const SHOWN = 20;

export function formatPlan(p: BatchPlan): string {
  const lines = [`gemini-batch: dry run (nothing uploaded, created or paid)`];
  lines.push(`  model    ${p.model}${p.pricedAs && p.pricedAs !== p.model ? ` (priced as ${p.pricedAs})` : ''}`);
  lines.push(`  records  ${int(p.records.total)} (${int(p.records.valid)} valid, ${int(p.records.invalid)} invalid)`);
  lines.push(`  batches  ${int(p.chunkCount)}, ${size(p.bytes)}`);
  for (const c of p.chunks.slice(0, SHOWN)) {
    lines.push(
      `    #${c.index}  ${c.mode.padEnd(6)} ${size(c.bytes).padStart(9)}  ${int(c.requests).padStart(7)} requests  ~${int(c.estimatedTokens)} tokens` +
        (c.cost ? `  ${formatUsd(c.cost.low)}${c.cost.high !== undefined ? `-${formatUsd(c.cost.high)}` : '+'}` : '') +
        (c.problems.length ? `  DOES NOT FIT: ${c.problems.join('; ')}` : '  fits'),
    );
  }
  const hidden = p.chunkCount - Math.min(p.chunks.length, SHOWN);
  if (hidden > 0) lines.push(`    ... ${int(hidden)} more`);
  lines.push(
    `  input    ~${int(p.inputTokens.estimated)} tokens estimated (errs high)` +
      (p.inputTokens.corrected !== undefined && p.countTokens
        ? `; ~${int(p.inputTokens.corrected)} corrected by countTokens on ${int(p.countTokens.sampled)} requests (${p.countTokens.tokensPerByte.toFixed(3)} tokens a byte)`
        : ''),
  );
  lines.push(
    `  output   ${
      p.output.tokens === undefined
        ? `unknown: ${int(p.output.requestsWithoutLimit)} requests set no maxOutputTokens (give --output-tokens N)`
        : `${int(p.output.tokens)} tokens at most (${p.output.source === 'flag' ? '--output-tokens per request' : "each request's maxOutputTokens + thinking budget"})`
    }`,
  );
  if (!p.cost) lines.push(`  cost     unknown: no price for ${p.model} (give one with --prices FILE)`);
  else {
    const range = (c: { low: number; high: number | undefined }) => `${formatUsd(c.low)} to ${c.high === undefined ? 'unknown (output not known)' : formatUsd(c.high)}`;
    lines.push(`  cost     ${range(p.cost)} at batch price (prices of ${p.cost.pricesAsOf})`);
    if (p.cost.corrected) lines.push(`           ${range(p.cost.corrected)} with the corrected input`);
  }
  const l = p.limits;
  const sizes = `${sizeName(l.fileBytes)} a ${l.backend === 'vertex' ? 'job' : 'file'}${l.inlineBytes === undefined ? '' : `, ${sizeName(l.inlineBytes)} inline`}, ${int(l.requests)} requests a batch`;
  if (l.backend === 'vertex') lines.push(`  limits   Vertex AI: no token quota (jobs queue); ${sizes}`);
  else lines.push(`  limits   tier ${l.tier}: ${l.enqueuedTokens === undefined ? 'quota not published' : `${int(l.enqueuedTokens)} enqueued tokens per model`}; ${sizes}`);
  lines.push(`  fits     ${p.fits ? 'yes: every batch is within the limits' : 'NO: see the batches marked above'}`);
  return lines.join('\n');
}
