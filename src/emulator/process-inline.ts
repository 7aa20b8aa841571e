/**
 * Runs an inline job (at most 20 MB of requests, already in memory): each
 * item {request, metadata} becomes {response, metadata} or {error, metadata}.
 */
import type { Batch, InlineResult } from './batch.js';
import type { Context } from './context.js';
import { answerRequest, varyFieldOrder } from './answer.js';
import { ResultMixer, type MixPlan } from './result-mixer.js';
import { isRecord } from './wire.js';

export function processInlineJob(ctx: Context, b: Batch, requests: unknown[], plan: MixPlan): InlineResult[] {
  const results: InlineResult[] = [];
  const mixer = new ResultMixer<InlineResult>(ctx.faults.rng, plan, (r) => results.push(r));
  requests.forEach((item, i) => {
    const metadata = isRecord(item) ? item.metadata : undefined;
    const rawKey = isRecord(metadata) ? metadata.key : undefined;
    const key = typeof rawKey === 'string' ? rawKey : String(i + 1);
    const r = isRecord(item)
      ? answerRequest(ctx, b.task, b.model, key, item.request)
      : answerRequest(ctx, b.task, b.model, key, undefined);
    if (r.error) b.failed++;
    else b.succeeded++;
    const out: InlineResult = r.error ? { error: r.error } : { response: varyFieldOrder(r.response, i + 1) };
    if (metadata !== undefined && !ctx.settings.omitInlineMetadata) out.metadata = metadata;
    mixer.push(out);
  });
  mixer.end();
  return results;
}
