/**
 * Stage 4: UploadedChunk → FinishedJob, a thin stream adapter over
 * BatchRunner: up to maxJobsInFlight chunks admitted at once (with the job
 * window shared with the demuxer, a chunk holds its slot until its results
 * are all out).
 */
import type { Duplex } from 'node:stream';
import { withContext } from '../../errors.js';
import type { FinishedJob, UploadedChunk } from '../../types.js';
import { BatchRunner } from './batch-runner.js';
import type { BatchSubmitterOptions } from './submitter-state.js';
import { Slots, boundedMap } from '../../internal/concurrency/bounded.js';

export { BatchRunner } from './batch-runner.js';
export type { BatchSubmitterOptions } from './submitter-state.js';
export type { BatchPart } from './batch-part.js';

/** UploadedChunk (object mode) → FinishedJob (object mode). */
export function batchSubmitter(opts: BatchSubmitterOptions & { cancelOnAbort?: boolean }): Duplex & { runner: BatchRunner } {
  const runner = new BatchRunner(opts);
  const stream = boundedMap<UploadedChunk, FinishedJob>({
    slots: opts.window ?? new Slots(opts.maxJobsInFlight ?? 8, 'maxJobsInFlight'),
    releaseOn: opts.window ? 'consumer' : 'pushed',
    ordered: opts.ordered ?? true,
    task: (chunk) =>
      runner.run(chunk).catch((err: unknown) => {
        throw withContext(err, `running the batch of chunk ${chunk.index} (records ${chunk.firstSeq}..${chunk.firstSeq + chunk.count - 1})`);
      }),
    onDestroy: async (err) => {
      if (err && opts.cancelOnAbort) await runner.inFlight.cancelAll(opts.client);
    },
  });
  return Object.assign(stream, { runner });
}
