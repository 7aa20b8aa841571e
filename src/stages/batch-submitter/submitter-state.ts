/** What the modules of stage 4 share for one submitter: its options and the run's bookkeeping. */
import { GeminiApiError } from '../../backends/gemini/errors.js';
import type { z } from 'zod/v3';
import type { BatchTask, GeminiClient } from '../../backends/gemini/types.js';
import type { submitterOptionsSchema } from '../../options/submitter.js';
import type { RunJournal } from '../../journal/types.js';
import type { JobEvent } from '../../types.js';
import { Slots } from '../../internal/concurrency/bounded.js';
import { InFlight } from '../../run/in-flight.js';
import type { BatchWebhook } from '../../run/webhook.js';
import type { BatchPart } from './batch-part.js';
import { Survival } from './survival.js';

/**
 * What stage 4's modules read: batchSubmitter()'s options as its schema
 * resolved them (every default filled in there, none restated here), and
 * what the run lends it.
 */
export type RunnerOptions = z.output<typeof submitterOptionsSchema> & {
  client: GeminiClient;
  /** Batches are named `<runId>-<chunk>`. */
  runId: string;
  /** Directory for results files (must exist). */
  dir: string;
  signal?: AbortSignal;
  journal?: RunJournal;
  /** The run's registry of files and batches in flight (cancelOnAbort); default: one of its own. */
  inFlight?: InFlight;
  onJob?: (e: JobEvent) => void;
  /** The run's webhook: creates carry its webhookConfig, polls wait for its hints (src/run/webhook.ts). */
  webhook?: BatchWebhook;
  onBytesUploaded?: (n: number) => void;
  /** The run's survival state, shared with the uploader (its storage budget); default: one of its own. */
  survival?: Survival;
};

/**
 * Downloads at once: local disk is the bottleneck, not the number of
 * sockets, and every download in flight keeps its own buffers alive.
 */
const DOWNLOADS_AT_ONCE = 2;

export class SubmitterState {
  readonly task: BatchTask;
  readonly inFlight: InFlight;
  readonly downloads = new Slots(DOWNLOADS_AT_ONCE);
  /** Responses files per chunk, deleted on the service once the chunk's results are recorded. */
  readonly remoteResults = new Map<number, string[]>();
  /** Quota gate, storage budget, split-part bound (survival.ts). */
  readonly survival: Survival;

  constructor(readonly opts: RunnerOptions) {
    this.task = opts.task;
    this.inFlight = opts.inFlight ?? new InFlight();
    // The registry's storage budget is the one the uploader (stage 3) waits on too.
    if (opts.storageBudgetBytes !== undefined) this.inFlight.storage.setBudget(opts.storageBudgetBytes);
    this.survival = opts.survival ?? new Survival({ ...opts, storage: this.inFlight.storage });
  }

  event(part: Pick<BatchPart, 'chunk'>, state: JobEvent['state'], requests: number, batchName?: string, detail?: string): void {
    this.opts.onJob?.({ chunk: part.chunk.index, batchName, state, requests, detail });
  }

  /** Best effort: a leftover file expires in 48 h on its own. */
  async deleteFile(name: string): Promise<void> {
    try {
      await this.opts.client.files.delete(name, this.opts.signal);
    } catch (err) {
      if (!(err instanceof GeminiApiError)) throw err;
    }
    this.inFlight.dropFile(name);
    this.survival.budget.release(name);
  }
}
