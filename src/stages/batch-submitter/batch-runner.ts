/**
 * The core of stage 4 (batchSubmitter): one uploaded chunk to its
 * FinishedJob. The chunk is a BatchPart run through the policies
 * (recovery.ts: resubmit, split, retry), each batch created at most once
 * (create-once.ts) and waited for (wait-and-fetch.ts); the chunk is done
 * once its results are on local disk, and only then are the service's
 * copies deleted.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BatchState } from '../../api/types.js';
import { crashPoint } from '../../failpoints.js';
import type { InFlight } from '../../run/in-flight.js';
import type { FinishedJob, UploadedChunk } from '../../types.js';
import { retryFailedRequests, runPart } from './recovery.js';
import { SubmitterState, type BatchSubmitterOptions } from './submitter-state.js';

export class BatchRunner {
  private readonly s: SubmitterState;

  constructor(opts: BatchSubmitterOptions) {
    this.s = new SubmitterState(opts);
  }

  /** Files and batches on the service not yet done with (cancelOnAbort). */
  get inFlight(): InFlight {
    return this.s.inFlight;
  }

  async run(chunk: UploadedChunk): Promise<FinishedJob> {
    const s = this.s;
    const o = s.opts;
    if (chunk.lineCount === 0 || chunk.firstSeq + chunk.count <= (o.skipResults ?? 0)) {
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
    if (chunk.fileName) s.inFlight.addFile(chunk.fileName);
    const outcome = await runPart(s, {
      chunk,
      spoolPath: chunk.spoolPath,
      fileName: chunk.fileName,
      lines: chunk.lineCount,
      label: String(chunk.index),
      resultsPath,
      depth: 0,
    });
    if (outcome.failure === undefined && o.retryFailedRequests) {
      await retryFailedRequests(s, chunk, resultsPath);
    }
    crashPoint('results-downloaded');
    await o.journal?.resultsDownloaded(chunk.index, resultsPath, outcome.failure);
    // Only now that the results are safe locally may the service's copies go.
    const remote = s.remoteResults.get(chunk.index) ?? [];
    s.remoteResults.delete(chunk.index);
    if (o.cleanupRemote !== false) {
      for (const f of remote) await s.deleteFile(f);
      if (chunk.fileName) await s.deleteFile(chunk.fileName);
    }
    // Kept files are the user's now: an abort later must not delete them, and the registry stays bounded.
    if (chunk.fileName) s.inFlight.dropFile(chunk.fileName);
    return { chunk, batchName: outcome.batchName, state: outcome.state, resultsPath, failure: outcome.failure };
  }
}
