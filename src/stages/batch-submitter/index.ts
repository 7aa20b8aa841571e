/**
 * Stage 4: UploadedChunk → FinishedJob, a thin stream adapter over
 * BatchRunner: up to maxJobsInFlight chunks at once, each waiting for a slot
 * of the job window the demuxer frees as it emits their results.
 */
import type { Transform } from 'node:stream';
import { withContext } from '../../errors.js';
import type { FinishedJob, UploadedChunk } from '../../types.js';
import { BatchRunner, type BatchSubmitterOptions } from './batch-runner.js';
import { concurrentTransform } from '../../internal/concurrency/concurrent.js';

export { BatchRunner, type BatchSubmitterOptions } from './batch-runner.js';

/** UploadedChunk (object mode) → FinishedJob (object mode). */
export function batchSubmitter(opts: BatchSubmitterOptions & { cancelOnAbort?: boolean }): Transform & { runner: BatchRunner } {
  const runner = new BatchRunner(opts);
  const window = opts.window;
  const stream = concurrentTransform<UploadedChunk, FinishedJob>({
    concurrency: opts.maxJobsInFlight ?? 8,
    ordered: opts.ordered ?? true,
    task: async (chunk) => {
      await window?.acquire(opts.signal);
      return runner.run(chunk).catch((err: unknown) => {
        throw withContext(err, `running the batch of chunk ${chunk.index} (records ${chunk.firstSeq}..${chunk.firstSeq + chunk.count - 1})`);
      });
    },
    onDestroy: async (err) => {
      if (err && opts.cancelOnAbort) await cancelAll(runner, opts);
    },
  });
  return Object.assign(stream, { runner });
}

/** cancelOnAbort: stop paying for batches nobody will read, and remove our uploads. */
export async function cancelAll(runner: BatchRunner, opts: BatchSubmitterOptions): Promise<void> {
  const jobs = runner.batchesInFlight().map((b) => opts.client.batches.cancel(b).catch(() => undefined));
  const files = runner.uploadedFiles().map((f) => opts.client.files.delete(f).catch(() => undefined));
  await Promise.all([...jobs, ...files]);
}
