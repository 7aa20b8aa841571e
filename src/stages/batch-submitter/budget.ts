/**
 * Stage 4 under a budget (issue 20): before a chunk's first create, its cost
 * is estimated (input tokens from the chunker's estimate, which errs high;
 * output from each request's generationConfig.maxOutputTokens plus its
 * thinkingBudget, or budget.outputTokens per request) and reserved when
 * decideBudget lets it go; once its results are on disk, the reservation
 * becomes the real cost read from the results' usageMetadata, journaled by
 * batch name before the results are (a resume neither forgets it nor counts
 * it twice). A chunk not sent ends as a FinishedJob without results whose
 * records all get BUDGET_EXCEEDED, and is never journaled done: a rerun with
 * a larger cap sends it.
 */
import { forEachLineAsync } from '../../internal/io/lines.js';
import { skipSpace, skipString } from '../../internal/wire/json-bytes.js';
import { readUsage } from '../../internal/wire/usage.js';
import { readLineKey } from '../../internal/wire/wire-line.js';
import { GeminiBatchError } from '../../errors.js';
import type { BatchCost } from '../../journal/types.js';
import { releaseInput } from '../../run/input.js';
import { usd } from '../../run/budget-ledger.js';
import type { FinishedJob, ResultError, UploadedChunk } from '../../types.js';
import { decideBudget } from './decide.js';
import { spoolTokens } from './parts.js';
import { stageEvent, type StageContext } from './stage-context.js';

export const BUDGET_EXCEEDED = 'BUDGET_EXCEEDED';

const MAX_OUTPUT = [Buffer.from('"maxOutputTokens"'), Buffer.from('"max_output_tokens"')];
const THINKING = [Buffer.from('"thinkingBudget"'), Buffer.from('"thinking_budget"')];
const MODEL_VERSION = Buffer.from('"modelVersion"');

/** The integer value of the first member named one of `names` in a line (a byte search: no parse), or undefined. */
function intMember(line: Buffer, names: Buffer[]): number | undefined {
  for (const name of names) {
    const at = line.indexOf(name);
    if (at === -1) continue;
    let i = skipSpace(line, at + name.length);
    if (line[i] !== 0x3a) continue;
    i = skipSpace(line, i + 1);
    const m = /^-?\d+/.exec(line.toString('latin1', i, i + 12));
    if (m) return Number(m[0]);
  }
  return undefined;
}

/**
 * Output tokens a request line may cost at most: maxOutputTokens plus a
 * positive thinkingBudget, else `assumed`; undefined when neither bounds it.
 */
export function outputBound(line: Buffer, assumed: number | undefined): number | undefined {
  const max = intMember(line, MAX_OUTPUT);
  if (max === undefined || max < 0) return assumed;
  const thinking = intMember(line, THINKING);
  return max + (thinking !== undefined && thinking > 0 ? thinking : 0);
}

/** Sum of the output bounds of a spool's requests; throws (one sentence, naming the record) at the first without one. */
async function chunkOutputTokens(ctx: StageContext, spoolPath: string, assumed: number | undefined): Promise<number> {
  if (ctx.o.task === 'embed') return 0;
  let total = 0;
  let unbounded: string | undefined;
  await forEachLineAsync(spoolPath, (line) => {
    if (unbounded !== undefined) return;
    const n = outputBound(line, assumed);
    if (n === undefined) unbounded = readLineKey(line)?.userKey ?? '?';
    else total += n;
  });
  if (unbounded !== undefined) {
    throw new GeminiBatchError(
      'ERR_INVALID_OPTIONS',
      `geminiBatch: option budget cannot bound the cost of record "${unbounded}": its request sets no generationConfig.maxOutputTokens; set it, or give budget.outputTokens (output tokens to assume per request)`,
    );
  }
  return total;
}

export type BudgetVerdict = { kind: 'send' } | { kind: 'refused'; job: FinishedJob };

/** Reserve the chunk's estimated cost, or refuse it (its records get BUDGET_EXCEEDED). */
export async function reserveChunk(ctx: StageContext, chunk: UploadedChunk): Promise<BudgetVerdict> {
  const ledger = ctx.budget!;
  const prior = ctx.journal?.get(chunk.index);
  const committed = prior !== undefined && Object.keys(prior.batches).length > 0;
  const tokensIn = chunk.estimatedTokens ?? (await spoolTokens(chunk.spoolPath));
  const tokensOut = await chunkOutputTokens(ctx, chunk.spoolPath, ledger.outputTokens);
  const chunkCost = ctx.pricer.estimateChunk(tokensIn, tokensOut, ctx.o.model) ?? Infinity;
  // No await from here to reserve(): chunks running at once must not both see the same room.
  const step = decideBudget({ maxUsd: ledger.maxUsd, spent: ledger.spentUsd, reserved: ledger.reservedUsd, chunkCost, committed, stopped: ledger.stopped, warned: ledger.warned });
  if (step.kind === 'stop') return { kind: 'refused', job: await refuse(ctx, chunk, step.message) };
  ledger.reserve(chunk.index, chunkCost);
  if (step.warn) {
    ledger.warned = true;
    stageEvent(ctx, { chunk }, 'BUDGET', chunk.lineCount, undefined, step.warn);
  }
  return { kind: 'send' };
}

/**
 * Nothing more is sent: the chunk's input goes, the stop is journaled (where
 * a rerun resumes sending), and with onExceed 'cancel' our batches in flight
 * are cancelled (their chunks end refused too, see settleOrRefuse).
 */
async function refuse(ctx: StageContext, chunk: UploadedChunk, message: string): Promise<FinishedJob> {
  const ledger = ctx.budget!;
  const first = !ledger.stopped;
  if (ledger.stopAt(chunk.firstSeq, message)) await ctx.journal?.budgetStopped(chunk.firstSeq);
  if (first) {
    stageEvent(ctx, { chunk }, 'BUDGET', chunk.lineCount, undefined, `${message}: no more batches are sent${ledger.onExceed === 'cancel' ? ', those in flight are cancelled' : ''}`);
    if (ledger.onExceed === 'cancel') {
      for (const name of ctx.inFlight.batches()) {
        ledger.cancelled.add(name);
        await ctx.backend.jobs.cancel(name, ctx.signal).catch(() => undefined);
      }
    }
  }
  if (chunk.fileName) await releaseInput(ctx, chunk.fileName, ctx.o.cleanupRemote);
  return { chunk, state: 'CANCELLED', failure: budgetFailure(message) };
}

export function budgetFailure(message: string): ResultError {
  return { code: 402, status: BUDGET_EXCEEDED, message };
}

/**
 * The chunk's results are on disk: journal what they cost (by batch name,
 * before the results themselves) and settle its reservation. A chunk whose
 * batch the budget cancelled is not done: it is journaled cancelled (a rerun
 * sends it again under new names) and refused.
 */
export async function settleOrRefuse(ctx: StageContext, chunk: UploadedChunk, resultsPath: string, batchName: string): Promise<FinishedJob | undefined> {
  const cost = await costOfResults(ctx, chunk.index, resultsPath, batchName);
  await ctx.journal?.batchCost(cost);
  ctx.budget?.settle(chunk.index, cost);
  ctx.onJob?.({ chunk: chunk.index, batchName, state: 'COSTED', requests: chunk.lineCount, detail: usd(cost.usd), cost: { usd: cost.usd, tokens: cost.tokens, ...(cost.unpriced ? { unpriced: cost.unpriced } : {}) } });
  if (!ctx.budget?.cancelled.has(batchName)) return undefined;
  await ctx.journal?.chunkCancelled(chunk.index, { paid: cost.usd > 0 });
  const message = ctx.budget.report().stopMessage ?? 'the budget ran out';
  if (ctx.budget.stopAt(chunk.firstSeq, message)) await ctx.journal?.budgetStopped(chunk.firstSeq);
  return { chunk, state: 'CANCELLED', failure: budgetFailure(`cancelled: ${message.replace(/^not sent: /, '')}`) };
}

/**
 * A batch the service lost after it ran was paid for nothing: its
 * reservation is counted as spent (journaled, so a resume counts it too),
 * and the redo must fit the budget again. Resolves with the refused chunk
 * when it does not.
 */
export async function chargeLostBatch(ctx: StageContext, chunk: UploadedChunk, lostName: string): Promise<FinishedJob | undefined> {
  const ledger = ctx.budget!;
  const cost: BatchCost = { index: chunk.index, batch: `${lostName} (lost)`, usd: ledger.reservedFor(chunk.index), tokens: { prompt: 0, cached: 0, candidates: 0, thoughts: 0 } };
  await ctx.journal?.batchCost(cost);
  ledger.settle(chunk.index, cost);
  const verdict = await reserveChunk(ctx, chunk);
  return verdict.kind === 'refused' ? verdict.job : undefined;
}

/** What a results file cost, summed over its lines' usageMetadata (every line that has one was billed). */
export async function costOfResults(ctx: StageContext, index: number, resultsPath: string, batch: string): Promise<BatchCost> {
  const tokens = { prompt: 0, cached: 0, candidates: 0, thoughts: 0 };
  let usd = 0;
  let unpriced = 0;
  try {
    await forEachLineAsync(resultsPath, (line) => {
      const u = readUsage(line);
      if (!u) return;
      tokens.prompt += u.prompt;
      tokens.cached += u.cached;
      tokens.candidates += u.candidates;
      tokens.thoughts += u.thoughts;
      const c = ctx.pricer.costOfUsage(u, modelVersion(line), ctx.o.model);
      if (c === undefined) unpriced++;
      else usd += c;
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return { index, batch, usd, tokens, ...(unpriced ? { unpriced } : {}) };
}

/** The `modelVersion` string of a result line, by a byte search; undefined when absent. */
function modelVersion(line: Buffer): string | undefined {
  const at = line.indexOf(MODEL_VERSION);
  if (at === -1) return undefined;
  let i = skipSpace(line, at + MODEL_VERSION.length);
  if (line[i] !== 0x3a) return undefined;
  i = skipSpace(line, i + 1);
  if (line[i] !== 0x22) return undefined;
  const end = skipString(line, i);
  return end === -1 ? undefined : line.toString('utf8', i + 1, end - 1);
}
