/**
 * Wait for a part's batch to end, record its terminal state, and bring its
 * results to local disk (appended to the chunk's results file: the responses
 * file downloaded, or the inline results the client wrote while polling,
 * keyed by position when the service sent them without keys). A batch shown
 * SUCCEEDED before its output is polled again (bounded) until the output is
 * there; one that never shows it fails the run rather than being taken as
 * done: its batch stays in the journal, and a rerun fetches it. A FAILED,
 * EXPIRED or CANCELLED batch's partial output is used too. A batch the
 * service no longer has (404) is a ChunkGone: the chunk is redone.
 */
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { BatchOperation, BatchState } from '../../backends/gemini/types.js';
import { GeminiBatchError } from '../../errors.js';
import { crashPoint } from '../../failpoints.js';
import type { Attempt, BatchPart } from './batch-part.js';
import type { SubmitterState } from './submitter-state.js';
import { keyInlineResults } from './inline-keys.js';
import { hasOutput, waitForOutput } from './output-wait.js';
import { ChunkGone, isNotFound } from './redo.js';

/** First pause before looking again for the output of a batch an event said ended (output-wait's own default). */
const OUTPUT_POLL_WITH_WEBHOOK_MS = 2_000;

export async function waitAndFetch(s: SubmitterState, part: BatchPart, displayName: string, batchName: string): Promise<Attempt> {
  const o = s.opts;
  const journal = o.journal;
  const recordedTerminal = journal?.get(part.chunk.index)?.terminal[displayName];
  // Stays listed until it reaches a terminal state, so an abort can still cancel it.
  s.inFlight.addBatch(batchName);
  // From creation or adoption until done, its events wake the poll (a hint: one GET confirms).
  const webhook = o.webhook;
  webhook?.watch(batchName);
  const pause = webhook?.pause(batchName);
  const inlinePath = `${part.resultsPath}.inline-${displayName}`;
  let lastState: BatchState | undefined;
  let op: BatchOperation;
  try {
    op = await o.client.batches.waitForBatch(batchName, {
      signal: o.signal,
      pollInterval: o.pollInterval,
      inlineResultsPath: inlinePath,
      ...(pause ? { pause } : {}),
      onState: (st) => {
        if (st.state !== lastState) {
          if (st.state === 'RUNNING') crashPoint('polling');
          lastState = st.state;
          s.event(part, st.state, part.lines, batchName);
        }
      },
    });
    op = await waitForOutput(op, () => o.client.batches.getToFile(batchName, inlinePath, o.signal), {
      waitMs: s.survival.outputWaitMs,
      // With webhooks the poll interval can be minutes, but no second event comes when the output is attached.
      initialMs: webhook ? Math.min(OUTPUT_POLL_WITH_WEBHOOK_MS, o.pollInterval?.initialMs ?? OUTPUT_POLL_WITH_WEBHOOK_MS) : o.pollInterval?.initialMs,
      maxMs: o.pollInterval?.maxMs,
      signal: o.signal,
      onWait: (polls) => {
        if (polls === 1) s.event(part, 'SUCCEEDED', part.lines, batchName, 'SUCCEEDED but no output attached yet: polling until it is');
      },
    });
  } catch (err) {
    webhook?.unwatch(batchName);
    if (!isNotFound(err)) throw err;
    s.inFlight.dropBatch(batchName);
    s.survival.ended(batchName);
    await rm(inlinePath, { force: true });
    // Results never fetched: if it had finished, its price was paid for nothing.
    const paid = recordedTerminal !== undefined || lastState === 'RUNNING';
    throw new ChunkGone('batch-gone', paid, `batch ${batchName} (${displayName}) no longer exists on the service`);
  }
  webhook?.unwatch(batchName);
  s.inFlight.dropBatch(batchName);
  s.survival.ended(batchName);
  if (recordedTerminal === undefined) await journal?.batchTerminal(part.chunk.index, displayName, op.state);
  if (op.state === 'SUCCEEDED' && !hasOutput(op)) {
    await rm(inlinePath, { force: true });
    const ms = s.survival.outputWaitMs;
    const waited = ms < 60_000 ? `${Math.max(1, Math.round(ms / 1000))} s` : `${Math.round(ms / 60_000)} min`;
    throw new GeminiBatchError(
      'ERR_BATCH_OUTPUT_MISSING',
      `batch ${batchName} shows SUCCEEDED but the service attached no output within ${waited}; its results are paid for: run again${journal ? '' : ' with a stateDir'} later to fetch them`,
    );
  }
  if (hasOutput(op)) {
    const responsesFile = op.responsesFile;
    if (responsesFile) {
      await s.survival.appendExclusive(part.resultsPath, () => appendDownload(s, responsesFile, part.resultsPath));
      s.remoteResults.get(part.chunk.index)?.push(responsesFile);
    } else {
      const keyed = await s.survival.appendExclusive(part.resultsPath, () => keyInlineResults(inlinePath, part.spoolPath, part.resultsPath));
      if (keyed.detail) s.event(part, op.state, part.lines, batchName, keyed.detail);
    }
  }
  await rm(inlinePath, { force: true });
  return { state: op.state, batchName, op };
}

async function appendDownload(s: SubmitterState, fileName: string, path: string): Promise<void> {
  await s.downloads.run(async () => {
    const body = await s.opts.client.files.download(fileName, s.opts.signal);
    await pipeline(body, createWriteStream(path, { flags: 'a' }));
  }, s.opts.signal);
}

