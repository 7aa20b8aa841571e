/**
 * Create a part's batch at most once, ever (invariant 3): the journal records
 * the intent before the call; a batch intended before a crash, or a create
 * whose answer was lost, is looked up by its displayName before any new
 * create. A 429 on create is the enqueued-request quota: wait, not fail.
 */
import { GeminiApiError } from '../../api/errors.js';
import { sleep } from '../../api/retry.js';
import { abortError } from '../../errors.js';
import { crashPoint } from '../../failpoints.js';
import { inlineRequestsStream } from '../../internal/wire/inline-body.js';
import type { BatchPart } from './batch-part.js';
import type { SubmitterState } from './submitter-state.js';

/** Resolves with the batch name (batches/x) for `displayName`, adopted or new. */
export async function createOnce(s: SubmitterState, part: BatchPart, displayName: string): Promise<string> {
  const journal = s.opts.journal;
  const prior = journal?.get(part.chunk.index);
  let batchName = prior?.batches[displayName] || undefined;
  if (!batchName && prior && displayName in prior.batches) {
    // Intended before a crash, answer never recorded: adopt it if it exists.
    batchName = await findByDisplayName(s, displayName);
  }
  if (batchName) return batchName;
  s.event(part, 'CREATING', part.lines, undefined, displayName);
  await journal?.createIntended(part.chunk.index, displayName);
  batchName = await create(s, part, displayName);
  crashPoint('create-sent');
  await journal?.batchCreated(part.chunk.index, displayName, batchName);
  return batchName;
}

async function create(s: SubmitterState, part: BatchPart, displayName: string): Promise<string> {
  const o = s.opts;
  const fileName = part.fileName;
  const inline = fileName ? undefined : () => inlineRequestsStream(part.spoolPath);
  let wait = o.pollInterval?.initialMs ?? 2_000;
  for (;;) {
    if (o.signal?.aborted) throw abortError(o.signal);
    try {
      const op = await o.client.batches.create({
        model: o.model,
        task: s.task,
        displayName,
        fileName,
        inlineRequests: inline,
        signal: o.signal,
      });
      return op.name;
    } catch (err) {
      if (err instanceof GeminiApiError && err.ambiguous) {
        // The request may have reached the service: never create again before looking.
        const found = await findByDisplayName(s, displayName);
        if (found) return found;
        await sleep(wait / 4 + Math.random() * wait, o.signal);
        wait = Math.min(wait * 2, o.pollInterval?.maxMs ?? 60_000);
        continue;
      }
      if (err instanceof GeminiApiError && err.httpStatus === 429) {
        // Enqueued-request quota: not a failure, wait for running jobs to drain.
        await sleep(wait + Math.random() * wait, o.signal);
        wait = Math.min(wait * 2, o.pollInterval?.maxMs ?? 60_000);
        continue;
      }
      throw err;
    }
  }
}

export async function findByDisplayName(s: SubmitterState, displayName: string): Promise<string | undefined> {
  for await (const op of s.opts.client.batches.list({ pageSize: 100, signal: s.opts.signal })) {
    if (op.displayName === displayName) return op.name;
  }
  return undefined;
}
