/**
 * The core of stage 4 (batchSubmitter): one uploaded chunk to its
 * FinishedJob. The chunk is a BatchPart run through the policies
 * (recovery.ts: resubmit, split, retry), each batch created at most once
 * (create-once.ts) and waited for (wait-and-fetch.ts); the chunk is done
 * once its results are on local disk, and only then are the service's
 * copies deleted.
 */
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BatchState } from '../../backends/gemini/types.js';
import { crashPoint } from '../../failpoints.js';
import type { InFlight } from '../../run/in-flight.js';
import type { FinishedJob, UploadedChunk } from '../../types.js';
import { retryFailedRequests, runPart } from './recovery.js';
import { SubmitterState, type RunnerOptions } from './submitter-state.js';
import { chunkPart } from '../../journal/journal.js';
import { uploadFile } from '../../run/upload-file.js';
import { ChunkGone, MAX_REDOS_PER_RUN } from './redo.js';
import { uploadWithinBudget } from '../../run/storage-budget.js';

export class BatchRunner {
  private readonly s: SubmitterState;

  constructor(opts: RunnerOptions) {
    this.s = new SubmitterState(opts);
    // cancelOnAbort records the chunks it gives up in the journal (src/run/in-flight.ts).
    this.s.inFlight.attachJournal(opts.journal);
  }

  /** Files and batches on the service not yet done with (cancelOnAbort). */
  get inFlight(): InFlight {
    return this.s.inFlight;
  }

  async run(chunk: UploadedChunk): Promise<FinishedJob> {
    const s = this.s;
    const o = s.opts;
    if (chunk.lineCount === 0 || chunk.firstSeq + chunk.count <= o.skipResults) {
      return { chunk, state: 'SUCCEEDED' };
    }
    const prior = o.journal?.get(chunk.index);
    if (prior?.resultsPath) {
      const state = prior.failure ? (prior.failure.status.replace(/^BATCH_/, '') as BatchState) : 'SUCCEEDED';
      return { chunk, state, resultsPath: prior.resultsPath, failure: prior.failure };
    }
    const resultsPath = join(o.journal?.resultsDir ?? o.dir, `results-${chunk.index}.jsonl`);
    // A results file left by a crash mid-download may end in a torn line: start it again.
    await rm(resultsPath, { force: true });
    s.remoteResults.set(chunk.index, []);
    let fileName = chunk.fileName;
    if (fileName) s.inFlight.addFile(fileName);
    // A chunk cancelled (cancelOnAbort) or lost on an earlier run goes under its next attempt's names.
    let attemptNo = prior?.attempt ?? 0;
    let outcome;
    for (let redo = 0; ; redo++) {
      try {
        outcome = await runPart(s, {
          chunk: { ...chunk, fileName },
          spoolPath: chunk.spoolPath,
          fileName,
          lines: chunk.lineCount,
          label: chunkPart(chunk.index, attemptNo),
          resultsPath,
          depth: 0,
        });
        break;
      } catch (err) {
        // The service no longer has the batch or the upload: redo the chunk, never a dead end (issue 11).
        if (!(err instanceof ChunkGone) || redo >= MAX_REDOS_PER_RUN) throw err;
        await o.journal?.chunkLost(chunk.index, err.reason, err.paid);
        attemptNo = o.journal?.get(chunk.index)?.attempt ?? attemptNo + 1;
        s.event({ chunk }, 'RESUBMITTING', chunk.lineCount, undefined, `${err.message}: redone as ${o.runId}-${chunkPart(chunk.index, attemptNo)}${err.paid ? ' (the lost batch was paid for)' : ''}`);
        await rm(resultsPath, { force: true });
        if (fileName) {
          s.inFlight.dropFile(fileName);
          s.survival.budget.release(fileName);
          fileName = await reupload(s, chunk, chunkPart(chunk.index, attemptNo));
        }
      }
    }
    if (outcome.failure === undefined && o.retryFailedRequests) {
      await retryFailedRequests(s, chunk, resultsPath);
    }
    crashPoint('results-downloaded');
    await o.journal?.resultsDownloaded(chunk.index, resultsPath, outcome.failure);
    // Only now that the results are safe locally may the service's copies go.
    const remote = s.remoteResults.get(chunk.index) ?? [];
    s.remoteResults.delete(chunk.index);
    if (o.cleanupRemote) {
      for (const f of remote) await s.deleteFile(f);
      if (fileName) await s.deleteFile(fileName);
    }
    // Kept files are the user's now: an abort later must not delete them, and the registry stays bounded.
    if (fileName) {
      s.inFlight.dropFile(fileName);
      s.survival.budget.release(fileName);
    }
    return { chunk, batchName: outcome.batchName, state: outcome.state, resultsPath, failure: outcome.failure };
  }
}

/** Upload a chunk's spool again for its next attempt (its old input is gone or goes with the lost batch). */
async function reupload(s: SubmitterState, chunk: UploadedChunk, label: string): Promise<string> {
  const o = s.opts;
  const size = (await stat(chunk.spoolPath)).size;
  const name = await uploadWithinBudget(
    s.survival.budget,
    chunk.spoolPath,
    size,
    () =>
      uploadFile(o.client, chunk.spoolPath, `${o.runId}-${label}`, {
        signal: o.signal,
        onBytes: o.onBytesUploaded,
        onUploadUrl: (url) => o.journal?.uploadStarted(chunk.index, url),
      }),
    o.signal,
  );
  await o.journal?.uploadFinished(chunk.index, name);
  s.inFlight.addFile(name);
  return name;
}
