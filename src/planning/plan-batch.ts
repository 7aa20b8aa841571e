/**
 * planBatch(): a dry run. Stages 1-2 exactly as geminiBatch() assembles them
 * (toRequestLine, then sizeChunker on a work dir of its own), then each
 * chunk's spool file is read back once (output assumption, a sample for
 * countTokens) and deleted. Nothing is uploaded, created or paid: the only
 * call it may make is the free countTokens, when asked to sample. Memory is
 * flat: one chunk's spool on disk at a time, the sample, and a bounded list
 * of chunks.
 */
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod/v3';
import { createGeminiClient } from '../backends/gemini/client.js';
import type { GeminiClient } from '../backends/gemini/types.js';
import { estimateChunkCost, type ChunkCost } from '../cost/cost.js';
import { priceOf, PRICES_AS_OF } from '../cost/prices.js';
import { chunkerOptionsSchema } from '../options/chunker.js';
import { parseOptions, pickFor } from '../options/parse.js';
import { resolveOptions, type GeminiBatchOptions, type ResolvedOptions } from '../options.js';
import { openWorkDir, removeWorkDir } from '../run/work-dir.js';
import { sizeChunker } from '../stages/size-chunker.js';
import { toRequestLine } from '../stages/to-request-line.js';
import type { BatchRecord, Chunk } from '../types.js';
import { backendFacts } from '../backends/index.js';
import { GeminiBatchError } from '../errors.js';
import { fitToBackend } from '../options/fit-backend.js';
import { enqueuedTokenQuota, serviceLimits, sizeName, type ServiceLimits, type Tier } from './limits.js';
import { readBack, type ChunkRead } from './chunk-read.js';
import { LineSample } from './sample.js';

const planOnlySchema = z
  .object({
    /** Output tokens assumed per request; default: each request's maxOutputTokens plus its thinking budget. */
    outputTokens: z.number().int().nonnegative().optional(),
    /** The project's usage tier, for the enqueued-token quota (default 1). */
    tier: z.union([z.literal(1), z.literal(2), z.literal(3)]).default(1),
    /** Sample this many records through the free countTokens to correct the estimate (default 0: no call at all). */
    countTokens: z.number().int().nonnegative().max(10_000).default(0),
    /** countTokens calls a minute (the service allows about 3,000). */
    countTokensPerMinute: z.number().positive().default(3_000),
    /** Price as of this date (default now). */
    date: z.date().optional(),
  })
  .strict();

export type PlanOptions<R = BatchRecord> = GeminiBatchOptions<R> & z.input<typeof planOnlySchema>;

const int = (n: number): string => String(Math.round(n)).replace(/\B(?=(\d{3})+$)/g, ',');

/** Chunks listed one by one in the plan; past this they are only counted in the totals. */
const MAX_LISTED_CHUNKS = 1_000;

export interface ChunkPlan {
  index: number;
  mode: 'file' | 'inline';
  requests: number;
  invalid: number;
  /** Bytes uploaded (file) or the create body (inline). */
  bytes: number;
  estimatedTokens: number;
  /** Output tokens assumed; undefined when some request has no limit and no outputTokens was given. */
  outputTokens: number | undefined;
  cost: ChunkCost | undefined;
  /** Why the chunk would not be accepted as it is; empty when it fits. */
  problems: string[];
}

export interface TokenSample {
  /** Requests counted by countTokens. */
  sampled: number;
  /** Measured tokens per byte of the sampled request lines. */
  tokensPerByte: number;
  /** Measured over estimated, on the sample: the estimate's correction. */
  correction: number;
  /** Input tokens of the whole input, corrected. */
  projectedInputTokens: number;
}

export interface BatchPlan {
  model: string;
  /** The model the prices are those of (a routed name shows what it routes to); undefined: no price known. */
  pricedAs: string | undefined;
  task: 'generate' | 'embed';
  records: { total: number; valid: number; invalid: number };
  chunks: ChunkPlan[];
  /** Chunks not listed (past MAX_LISTED_CHUNKS); they are in every total. */
  chunksNotListed: number;
  chunkCount: number;
  bytes: number;
  inputTokens: { estimated: number; corrected?: number };
  output: {
    /** 'flag': outputTokens per request; 'requests': every request's maxOutputTokens (+ thinking budget); 'unknown': some request has none. */
    source: 'flag' | 'requests' | 'unknown';
    tokens: number | undefined;
    requestsWithoutLimit: number;
  };
  /** USD at batch price: low = input + the smallest answers, high = input + the output assumption (undefined when unknown). */
  cost: { low: number; high: number | undefined; corrected?: { low: number; high: number | undefined }; pricesAsOf: string } | undefined;
  limits: ServiceLimits & {
    tier: Tier;
    /** Enqueued tokens per model at this tier; undefined when not published. */
    enqueuedTokens: number | undefined;
  };
  /** Every chunk is within the service's limits and the known quota. */
  fits: boolean;
  countTokens?: TokenSample;
}

export interface PlanInternals {
  /** A client for countTokens (tests, CLI); not closed here. */
  client?: GeminiClient;
  lineNumbers?: boolean;
}

/**
 * A dry run over `records`: what geminiBatch() with the same options would
 * send, in how many batches, and what it would cost. Sends nothing that costs
 * money and writes no output.
 */
export async function planBatch<R = BatchRecord>(
  records: Iterable<R> | AsyncIterable<R> | Readable,
  options: PlanOptions<R>,
  internals: PlanInternals = {},
): Promise<BatchPlan> {
  const { outputTokens, tier, countTokens, countTokensPerMinute, date, ...rest } = options;
  const plan = parseOptions(planOnlySchema, { outputTokens, tier, countTokens, countTokensPerMinute, date }, 'planBatch');
  const facts = backendFacts(rest.backend);
  // Chunks as the run would cut them for this backend (its job limits, file input only on Vertex).
  const o = fitToBackend(resolveOptions(rest as GeminiBatchOptions<R>), facts);
  if (plan.countTokens > 0 && facts.name !== 'gemini' && !internals.client) {
    throw new GeminiBatchError('ERR_INVALID_OPTIONS', `planBatch: countTokens samples through the Developer API; the ${facts.name} backend's plan has no sample (leave countTokens / --count-tokens out)`);
  }
  const when = plan.date ?? new Date();
  // Only the Developer API has an enqueued-token quota; Vertex queues jobs instead.
  const quota = facts.limits.tokenQuota ? enqueuedTokenQuota(o.model, plan.tier) : undefined;
  const limits = serviceLimits(facts);
  const sample = new LineSample(plan.countTokens);
  const chunks: ChunkPlan[] = [];
  const totals = { chunks: 0, valid: 0, invalid: 0, bytes: 0, tokens: 0, output: 0, withoutLimit: 0, over200k: 0, fits: true };
  let recordsIn = 0;
  const workDir = openWorkDir({ tmpDir: o.tmpDir ?? tmpdir() });
  try {
    const source = records instanceof Readable ? records : Readable.from(records as Iterable<R>, { objectMode: true });
    await pipeline(
      source,
      toRequestLine<R>({
        toRequest: o.toRequest,
        task: o.task,
        onInvalid: o.onInvalid,
        maxLineBytes: o.maxLineBytes,
        store: o.store,
        lineNumbers: internals.lineNumbers,
        wire: facts.wire,
        onLine: () => recordsIn++,
      }),
      sizeChunker({ workDir }, pickFor(chunkerOptionsSchema, o)),
      async (chunkStream: AsyncIterable<Chunk>) => {
        for await (const chunk of chunkStream) {
          const read = await readBack(chunk, plan.outputTokens, sample);
          await rm(chunk.spoolPath, { force: true });
          const c = chunkPlan(chunk, read, o.model, when, o.prices, quota, limits);
          const tokens = chunk.estimatedTokens ?? 0;
          totals.chunks++;
          totals.valid += chunk.lineCount;
          totals.invalid += chunk.invalid.length;
          totals.bytes += c.bytes;
          totals.tokens += tokens;
          totals.output += read.output;
          totals.withoutLimit += read.withoutLimit;
          totals.over200k += read.over200k;
          if (c.problems.length) totals.fits = false;
          if (chunks.length < MAX_LISTED_CHUNKS) chunks.push(c);
        }
      },
    );
  } finally {
    removeWorkDir(workDir);
  }

  const outputKnown = totals.withoutLimit === 0;
  const all = { inputTokens: totals.tokens, requests: totals.valid, over200kInputTokens: totals.over200k, ...(outputKnown ? { outputTokens: totals.output } : {}) };
  const cost = estimateChunkCost(all, o.model, when, o.prices);
  let counted: TokenSample | undefined;
  if (plan.countTokens > 0 && sample.lines().length > 0) {
    counted = await measure(sample, o, plan.countTokensPerMinute, totals.tokens, internals.client);
  }
  const corrected = counted
    ? estimateChunkCost({ ...all, inputTokens: counted.projectedInputTokens, over200kInputTokens: totals.over200k * counted.correction }, o.model, when, o.prices)
    : undefined;
  return {
    model: o.model,
    pricedAs: priceOf(o.model, when, o.prices)?.model,
    task: o.task,
    records: { total: recordsIn, valid: totals.valid, invalid: totals.invalid },
    chunks,
    chunksNotListed: totals.chunks - chunks.length,
    chunkCount: totals.chunks,
    bytes: totals.bytes,
    inputTokens: { estimated: totals.tokens, ...(counted ? { corrected: counted.projectedInputTokens } : {}) },
    output: {
      source: plan.outputTokens !== undefined ? 'flag' : outputKnown ? 'requests' : 'unknown',
      tokens: outputKnown ? totals.output : undefined,
      requestsWithoutLimit: totals.withoutLimit,
    },
    cost: cost ? { low: cost.low, high: cost.high, ...(corrected ? { corrected } : {}), pricesAsOf: PRICES_AS_OF } : undefined,
    limits: { ...limits, tier: plan.tier, enqueuedTokens: quota },
    fits: totals.fits,
    ...(counted ? { countTokens: counted } : {}),
  };
}

function chunkPlan(
  chunk: Chunk,
  read: ChunkRead,
  model: string,
  when: Date,
  prices: Parameters<typeof priceOf>[2],
  quota: number | undefined,
  limits: ServiceLimits,
): ChunkPlan {
  const problems: string[] = [];
  const tokens = chunk.estimatedTokens ?? 0;
  const bytes = chunk.mode === 'inline' ? chunk.inlineBytes : chunk.bytes;
  if (chunk.mode === 'file' && bytes > limits.fileBytes) problems.push(`${int(bytes)} bytes is over the ${sizeName(limits.fileBytes)} file limit`);
  if (chunk.mode === 'inline' && bytes > (limits.inlineBytes ?? 0)) problems.push(`${int(bytes)} bytes is over the ${sizeName(limits.inlineBytes ?? 0)} inline limit`);
  if (chunk.lineCount > limits.requests) problems.push(`${int(chunk.lineCount)} requests is over the ${int(limits.requests)} a batch`);
  if (quota !== undefined && tokens > quota) {
    problems.push(`~${int(tokens)} tokens is over the ${int(quota)} enqueued-token quota: the service refuses it, so it would be split (smaller batches: maxBatchTokens)`);
  }
  const outputTokens = read.withoutLimit === 0 ? read.output : undefined;
  return {
    index: chunk.index,
    mode: chunk.mode,
    requests: chunk.lineCount,
    invalid: chunk.invalid.length,
    bytes,
    estimatedTokens: tokens,
    outputTokens,
    cost: estimateChunkCost(
      { inputTokens: tokens, requests: chunk.lineCount, over200kInputTokens: read.over200k, ...(outputTokens !== undefined ? { outputTokens } : {}) },
      model,
      when,
      prices,
    ),
    problems,
  };
}

/** countTokens over the sample, paced under the service's rate: the measured rate and the corrected projection. */
async function measure(
  sample: LineSample,
  o: Pick<ResolvedOptions, 'apiKey' | 'baseUrl' | 'retry' | 'model' | 'task' | 'signal'>,
  perMinute: number,
  estimatedTotal: number,
  lent: GeminiClient | undefined,
): Promise<TokenSample> {
  const client = lent ?? createGeminiClient({ apiKey: o.apiKey, baseUrl: o.baseUrl, ...(o.retry ? { retry: o.retry } : {}) });
  const gap = 60_000 / perMinute;
  let measured = 0;
  let bytes = 0;
  let estimated = 0;
  try {
    let next = 0;
    for (const s of sample.lines()) {
      const wait = next - Date.now();
      if (wait > 0) await sleep(wait, undefined, o.signal ? { signal: o.signal } : {});
      next = Date.now() + gap;
      const { totalTokens } = await client.models.countTokens(o.model, countable(s.line, o.task), o.signal);
      measured += totalTokens;
      bytes += s.line.length;
      estimated += s.estimatedTokens;
    }
  } finally {
    if (!lent) await client.close().catch(() => undefined);
  }
  const correction = estimated > 0 ? measured / estimated : 1;
  return {
    sampled: sample.lines().length,
    tokensPerByte: bytes > 0 ? measured / bytes : 0,
    correction,
    projectedInputTokens: Math.round(estimatedTotal * correction),
  };
}

/** The request of a wire line, as countTokens takes it (an embedding's content as contents). */
function countable(line: Buffer, task: 'generate' | 'embed'): Record<string, unknown> {
  const parsed = JSON.parse(line.toString('utf8')) as { request?: Record<string, unknown> };
  const request = parsed.request ?? {};
  if (task === 'embed') return { contents: [request.content] };
  // Fields countTokens' GenerateContentRequest does not take (the batch-only ones) stay out.
  const { store: _store, labels: _labels, serviceTier: _tier, service_tier: _tier2, ...rest } = request;
  return rest;
}

