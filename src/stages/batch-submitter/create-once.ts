/**
 * Create a part's batch at most once, ever (invariant 3): the journal records
 * the intent before the call; a batch intended before a crash, or a create
 * whose answer was lost, is looked up by its displayName before any new
 * create, patiently (a list may lag behind a create: the api's
 * findByDisplayName lists with backoff over adoptWindowMs). Every create goes
 * through the enqueued-token quota gate (survival.ts): created only while our
 * own queued tokens plus this part's fit; a 429 waits for one of ours, backs
 * off within quotaWaitMs, splits the part (QuotaSplitNeeded) or fails in one
 * sentence. A create refused because its input file is gone is a ChunkGone.
 */
import { GeminiApiError } from '../../backends/gemini/errors.js';
import { sleep } from '../../backends/gemini/retry.js';
import type { CreateBatchOptions } from '../../backends/gemini/types.js';
import { abortError } from '../../errors.js';
import { crashPoint } from '../../failpoints.js';
import { inlineRequestsStream } from '../../internal/wire/inline-body.js';
import type { BatchPart } from './batch-part.js';
import type { SubmitterState } from './submitter-state.js';
import { ChunkGone, uploadIsGone } from './redo.js';

/** Resolves with the batch name (batches/x) for `displayName`, adopted or new. */
export async function createOnce(s: SubmitterState, part: BatchPart, displayName: string): Promise<string> {
  const journal = s.opts.journal;
  const prior = journal?.get(part.chunk.index);
  let batchName = prior?.batches[displayName] || undefined;
  if (!batchName && prior && displayName in prior.batches) {
    // Intended before a crash, answer never recorded: adopt it if it exists.
    batchName = await findByDisplayName(s, displayName);
  }
  if (batchName) {
    await s.survival.adopted(part, batchName);
    return batchName;
  }
  s.event(part, 'CREATING', part.lines, undefined, displayName);
  // The url is journaled with the intent, so a resumed run can listen where deliveries go.
  const webhookConfig = await s.opts.webhook?.config(part.chunk.index);
  await journal?.createIntended(part.chunk.index, displayName, webhookConfig?.uris[0]);
  batchName = await s.survival.create(part, () => create(s, part, displayName, webhookConfig), s.opts.signal, (detail) =>
    s.event(part, 'CREATING', part.lines, undefined, `${displayName}: ${detail}`),
  );
  crashPoint('create-sent');
  await journal?.batchCreated(part.chunk.index, displayName, batchName);
  return batchName;
}

async function create(s: SubmitterState, part: BatchPart, displayName: string, webhookConfig?: CreateBatchOptions['webhookConfig']): Promise<string> {
  const o = s.opts;
  const fileName = part.fileName;
  const inline = fileName ? undefined : () => inlineRequestsStream(part.spoolPath);
  let wait = o.pollInterval.initialMs;
  for (;;) {
    if (o.signal?.aborted) throw abortError(o.signal);
    try {
      const op = await o.client.batches.create({
        model: o.model,
        task: s.task,
        displayName,
        fileName,
        inlineRequests: inline,
        ...(webhookConfig ? { webhookConfig } : {}),
        signal: o.signal,
      });
      return op.name;
    } catch (err) {
      if (err instanceof GeminiApiError && err.ambiguous) {
        // The request may have reached the service: never create again before looking,
        // patiently (the whole adopt window showed nothing before a second create).
        const found = await findByDisplayName(s, displayName);
        if (found) return found;
        await sleep(wait / 4 + Math.random() * wait, o.signal);
        wait = Math.min(wait * 2, o.pollInterval.maxMs);
        continue;
      }
      // A 429 goes to the quota gate (survival.create); a missing input file means redo the chunk.
      if (part.spoolPath === part.chunk.spoolPath && (await uploadIsGone(o.client, err, fileName, o.signal))) {
        throw new ChunkGone('upload-gone', false, `the input file ${fileName} of chunk ${part.chunk.index} no longer exists on the service`);
      }
      throw err;
    }
  }
}

/** Lists with backoff over the adopt window: undefined only when the whole window showed nothing. */
export async function findByDisplayName(s: SubmitterState, displayName: string): Promise<string | undefined> {
  const op = await s.opts.client.batches.findByDisplayName(displayName, {
    windowMs: s.survival.adoptWindowMs,
    initialDelayMs: Math.min(1_000, s.opts.pollInterval.initialMs),
    signal: s.opts.signal,
  });
  return op?.name;
}
