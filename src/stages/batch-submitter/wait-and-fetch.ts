/**
 * Wait for a part's batch to end, record its terminal state, and bring a
 * successful batch's results to local disk (appended to the chunk's results
 * file: the responses file downloaded, or the inline results the client
 * wrote while polling).
 */
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { BatchState } from '../../api/types.js';
import { crashPoint } from '../../failpoints.js';
import type { Attempt, BatchPart } from './batch-part.js';
import type { SubmitterState } from './submitter-state.js';

export async function waitAndFetch(s: SubmitterState, part: BatchPart, displayName: string, batchName: string): Promise<Attempt> {
  const o = s.opts;
  const journal = o.journal;
  const recordedTerminal = journal?.get(part.chunk.index)?.terminal[displayName];
  // Stays listed until it reaches a terminal state, so an abort can still cancel it.
  s.inFlight.addBatch(batchName);
  const inlinePath = `${part.resultsPath}.inline-${displayName}`;
  let lastState: BatchState | undefined;
  const op = await o.client.batches.waitForBatch(batchName, {
    signal: o.signal,
    pollInterval: o.pollInterval,
    inlineResultsPath: inlinePath,
    onState: (st) => {
      if (st.state !== lastState) {
        if (st.state === 'RUNNING') crashPoint('polling');
        lastState = st.state;
        s.event(part, st.state, part.lines, batchName);
      }
    },
  });
  s.inFlight.dropBatch(batchName);
  if (recordedTerminal === undefined) await journal?.batchTerminal(part.chunk.index, displayName, op.state);
  if (op.state === 'SUCCEEDED') {
    if (op.responsesFile) {
      await appendDownload(s, op.responsesFile, part.resultsPath);
      s.remoteResults.get(part.chunk.index)?.push(op.responsesFile);
    } else {
      await appendFile(inlinePath, part.resultsPath);
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

/** Append one file to another; a missing source (a job that returned no inline array) adds nothing. */
async function appendFile(from: string, to: string): Promise<void> {
  if (!existsSync(from)) return;
  await pipeline(createReadStream(from), createWriteStream(to, { flags: 'a' }));
}
