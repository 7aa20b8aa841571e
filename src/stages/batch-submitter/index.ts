/**
 * Stage 4: UploadedChunk → FinishedJob, a thin stream adapter over
 * BatchRunner: up to maxJobsInFlight chunks admitted at once (with the run's
 * job window, shared with the demuxer, a chunk holds its slot until its
 * results are all out).
 */
import type { Duplex } from 'node:stream';
import { atStageBoundary } from '../../errors.js';
import { Slots, boundedMap } from '../../internal/concurrency/bounded.js';
import { parseOptions } from '../../options/parse.js';
import { submitterOptionsSchema, type BatchSubmitterOptions } from '../../options/submitter.js';
import type { RunContext } from '../../run/context.js';
import { InFlight } from '../../run/in-flight.js';
import type { FinishedJob, UploadedChunk } from '../../types.js';
import { BatchRunner } from './batch-runner.js';

export { BatchRunner } from './batch-runner.js';
export type { BatchSubmitterOptions } from '../../options/submitter.js';
export type { BatchPart } from './batch-part.js';

/** What the submitter uses of the run: client, runId and work dir at least. */
export type SubmitterContext = Pick<RunContext, 'client' | 'runId' | 'workDir'> &
  Partial<Pick<RunContext, 'signal' | 'journal' | 'events' | 'inFlight' | 'jobWindow' | 'webhook'>>;

/** UploadedChunk (object mode) → FinishedJob (object mode). */
export function batchSubmitter(ctx: SubmitterContext, options: BatchSubmitterOptions): Duplex & { runner: BatchRunner } {
  const opts = parseOptions(submitterOptionsSchema, options, 'batchSubmitter');
  const inFlight = ctx.inFlight ?? new InFlight();
  const progress = ctx.events?.progress;
  const runner = new BatchRunner({
    ...opts,
    client: ctx.client,
    runId: ctx.runId,
    dir: ctx.workDir,
    signal: ctx.signal,
    journal: ctx.journal,
    inFlight,
    webhook: ctx.webhook,
    onJob: ctx.events ? (e) => ctx.events!.job(e) : undefined,
    onBytesUploaded: progress ? (n) => (progress.bytesUploaded += n) : undefined,
  });
  const stream = boundedMap<UploadedChunk, FinishedJob>({
    slots: ctx.jobWindow ?? new Slots(opts.maxJobsInFlight, 'maxJobsInFlight'),
    // The run's window is freed by the demuxer; a submitter of its own frees a slot as it pushes.
    releaseOn: ctx.jobWindow ? 'consumer' : 'pushed',
    ordered: opts.ordered,
    task: (chunk) =>
      runner.run(chunk).catch((err: unknown) => {
        throw atStageBoundary(err, `running the batch of chunk ${chunk.index} (records ${chunk.firstSeq}..${chunk.firstSeq + chunk.count - 1})`);
      }),
    onDestroy: async (err) => {
      if (err && opts.cancelOnAbort) await inFlight.cancelAll(ctx.client);
    },
  });
  return Object.assign(stream, { runner });
}
