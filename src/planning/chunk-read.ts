/**
 * One pass over a chunk's spool file for what its cost depends on: each
 * request's output assumption, the input of requests in the higher price
 * tier, and (for a dry run's countTokens) a sample. reserveForChunk is what a
 * budget reserves before creating the chunk's batch.
 */
import { estimateChunkCost, TIER_TOKENS } from '../cost/cost.js';
import { outputAssumption } from '../cost/output-assumption.js';
import type { PriceTable } from '../cost/prices.js';
import { forEachLineAsync } from '../internal/io/lines.js';
import { estimateRequestTokens } from '../internal/wire/token-estimate.js';
import type { Chunk } from '../types.js';
import type { LineSample } from './sample.js';

export interface ChunkRead {
  /** Output tokens assumed, summed over the requests that have an assumption. */
  output: number;
  /** Requests with no maxOutputTokens and no per-request outputTokens. */
  withoutLimit: number;
  /** Estimated input tokens of the requests over 200k (the higher tier). */
  over200k: number;
}

export async function readBack(chunk: Pick<Chunk, 'spoolPath'>, perRequest: number | undefined, sample?: LineSample): Promise<ChunkRead> {
  const r: ChunkRead = { output: 0, withoutLimit: 0, over200k: 0 };
  await forEachLineAsync(chunk.spoolPath, (line) => {
    if (line.length === 0) return;
    const out = perRequest ?? outputAssumption(line);
    if (out === undefined) r.withoutLimit++;
    else r.output += out;
    const tokens = estimateRequestTokens(line);
    if (tokens > TIER_TOKENS) r.over200k += tokens;
    sample?.offer(line, tokens);
  });
  return r;
}

/**
 * USD a budget reserves for a chunk before its create: input (the chunker's
 * estimate, which errs high) plus the output assumption, at batch price.
 * Undefined when some request's output is not known (no maxOutputTokens, no
 * outputTokens: refuse the budget) or the model has no price.
 */
export async function reserveForChunk(
  chunk: Pick<Chunk, 'spoolPath' | 'lineCount' | 'estimatedTokens'>,
  model: string,
  opts: { outputTokens?: number; prices?: PriceTable; date?: Date } = {},
): Promise<number | undefined> {
  const read = await readBack(chunk, opts.outputTokens);
  if (read.withoutLimit > 0) return undefined;
  return estimateChunkCost(
    { inputTokens: chunk.estimatedTokens ?? 0, requests: chunk.lineCount, outputTokens: read.output, over200kInputTokens: read.over200k },
    model,
    opts.date,
    opts.prices,
  )?.high;
}
