/**
 * Stage 4: UploadedChunk → FinishedJob, a thin stream adapter over
 * runChunk (chunk-life.ts): up to maxJobsInFlight chunks admitted at once
 * (with the run's job window, shared with the demuxer, a chunk holds its slot
 * until its results are all out).
 */
import type { Duplex } from 'node:stream';
import { atStageBoundary } from '../../errors.js';
import { Slots, boundedMap } from '../../internal/concurrency/bounded.js';
import { parseOptions } from '../../options/parse.js';
import { submitterOptionsSchema, type BatchSubmitterOptions } from '../../options/submitter.js';
import type { RunContext } from '../../run/context.js';
import { BudgetLedger } from '../../run/budget-ledger.js';
import { InFlight } from '../../run/in-flight.js';
import { GeminiBatchError } from '../../errors.js';
import type { FinishedJob, UploadedChunk } from '../../types.js';
import { runChunk } from './chunk-life.js';
import { defaultPricer } from './pricer.js';
import { makeStageContext } from './stage-context.js';

export type { BatchSubmitterOptions } from '../../options/submitter.js';
export type { BatchPart } from './parts.js';

/** What the submitter uses of the run: backend, runId and work dir at least. */
export type SubmitterContext = Pick<RunContext, 'backend' | 'runId' | 'workDir'> &
  Partial<Pick<RunContext, 'signal' | 'journal' | 'events' | 'inFlight' | 'jobWindow' | 'webhook' | 'budget'>>;

/** UploadedChunk (object mode) → FinishedJob (object mode). */
export function batchSubmitter(run: SubmitterContext, options: BatchSubmitterOptions): Duplex {
  const o = parseOptions(submitterOptionsSchema, options, 'batchSubmitter');
  const inFlight = run.inFlight ?? new InFlight(o.storageBudgetBytes);
  // cancelOnAbort records the chunks it gives up in the journal (src/run/in-flight.ts).
  inFlight.attachJournal(run.journal);
  const progress = run.events?.progress;
  const pricer = defaultPricer;
  if (o.budget && pricer.estimateChunk(1, 1, o.model) === undefined) {
    throw new GeminiBatchError('ERR_INVALID_OPTIONS', `geminiBatch: option budget needs a price for the model ${o.model}, and none is known`);
  }
  const budget = o.budget ? (run.budget ?? new BudgetLedger(o.budget, run.journal)) : undefined;
  const ctx = makeStageContext(o, {
    backend: run.backend,
    runId: run.runId,
    dir: run.workDir,
    inFlight,
    pricer,
    ...(budget ? { budget } : {}),
    ...(run.signal ? { signal: run.signal } : {}),
    ...(run.journal ? { journal: run.journal } : {}),
    ...(run.webhook ? { webhook: run.webhook } : {}),
    ...(run.events ? { onJob: (e) => run.events!.job(e) } : {}),
    ...(progress ? { onBytesUploaded: (n) => (progress.bytesUploaded += n) } : {}),
  });
  return boundedMap<UploadedChunk, FinishedJob>({
    slots: run.jobWindow ?? new Slots(o.maxJobsInFlight, 'maxJobsInFlight'),
    // The run's window is freed by the demuxer; a submitter of its own frees a slot as it pushes.
    releaseOn: run.jobWindow ? 'consumer' : 'pushed',
    ordered: o.ordered,
    task: (chunk) =>
      runChunk(ctx, chunk).catch((err: unknown) => {
        throw atStageBoundary(err, `running the batch of chunk ${chunk.index} (records ${chunk.firstSeq}..${chunk.firstSeq + chunk.count - 1})`);
      }),
    onDestroy: async (err) => {
      if (err && o.cancelOnAbort) await inFlight.cancelAll(run.backend);
    },
  });
}
