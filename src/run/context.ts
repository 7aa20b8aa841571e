/**
 * The run context: what every stage of one geminiBatch() run shares, made
 * once and handed to each stage factory next to that stage's own options.
 *
 * - backend: the batch service behind the seam (src/backend/types.ts), made by
 *   the caller (geminiBatch picks it from the options); closed by the run
 *   unless lent
 * - runId: names uploads and batches `<runId>-<chunk>`
 * - workDir: spool and results files (see work-dir.ts)
 * - journal: the crash-safe run state, with a stateDir
 * - signal: aborts when the caller's signal does or the stream is destroyed
 * - events: progress counters and job events
 * - inFlight: files and batches on the service (upload tracking, cancelOnAbort)
 * - jobWindow: maxJobsInFlight slots, taken by the submitter, freed by the
 *   demuxer once a job's results are all out
 * - webhook: with the `webhook` option, the receiver that wakes stage 4's
 *   polls (webhook.ts)
 */
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { makeDirs } from '../internal/io/make-dirs.js';
import { tmpdir } from 'node:os';
import type { BatchBackend } from '../backend/types.js';
import { GeminiBatchError } from '../errors.js';
import { Slots } from '../internal/concurrency/bounded.js';
import { openJournal } from '../journal/journal.js';
import type { CompletionInfo, RunJournal } from '../journal/types.js';
import type { ResolvedOptions } from '../options.js';
import { RunEvents } from './events.js';
import { InFlight } from './in-flight.js';
import { openRunWebhook, type RunWebhook } from './webhook.js';
import { openWorkDir, removeWorkDir } from './work-dir.js';

export interface RunContext {
  readonly backend: BatchBackend;
  readonly runId: string;
  readonly workDir: string;
  readonly journal: RunJournal | undefined;
  readonly signal: AbortSignal;
  readonly events: RunEvents;
  readonly inFlight: InFlight;
  readonly jobWindow: Slots;
  readonly webhook?: RunWebhook;
}

/** A run context with its lifecycle: made by openRun(), ended by end(). */
export interface Run extends RunContext {
  /**
   * End the run: on error, abort the stages' waits (and, with cancelOnAbort,
   * cancel what is in flight); on success complete the journal unless the
   * caller completes it. Temp files are gone when the synchronous part returns.
   */
  end(err: Error | null): Promise<void>;
  /** Record the run complete in the journal (a no-op without a stateDir). */
  complete(info?: CompletionInfo): Promise<void>;
}

export interface RunBackend {
  backend: BatchBackend;
  /** The caller lent it (tests, CLI): the run does not close it. */
  lent: boolean;
}

export function openRun(o: ResolvedOptions<unknown>, { backend, lent }: RunBackend): Run {
  let journal: RunJournal | undefined;
  let workDir: string;
  try {
    journal = o.stateDir ? openStateDir(o, backend.name) : undefined;
    workDir = openWorkDir({ stateDir: journal?.dir, tmpDir: o.tmpDir ?? tmpdir() });
  } catch (err) {
    void journal?.close().catch(() => undefined);
    if (!lent) void backend.close().catch(() => undefined);
    throw err;
  }
  const runId = journal?.runId ?? o.runId ?? `gb-${randomBytes(5).toString('hex')}`;
  // Stages see an internal signal so destroy() stops their waits as abort does.
  const internalAbort = new AbortController();
  const signal = o.signal ? AbortSignal.any([o.signal, internalAbort.signal]) : internalAbort.signal;
  // Every request in flight listens on it; their number is bounded by the concurrency options.
  setMaxListeners(0, internalAbort.signal, signal);
  // The one owner of the storage budget: what the backend lets us hold, or less if asked.
  const inFlight = new InFlight(Math.min(o.storageBudgetBytes, backend.input.capacityBytes ?? Infinity));
  const webhook = o.webhook && backend.limits.webhooks ? openRunWebhook(o.webhook, { runId, baseUrl: backend.webhookBaseUrl, signal, journal }) : undefined;
  let ended = false;

  const complete = async (info?: CompletionInfo) => {
    await journal?.complete(info);
  };
  const end = async (err: Error | null) => {
    if (ended) return;
    ended = true;
    let cancelling: Promise<unknown> | undefined;
    if (err) {
      // Collect what is in flight before the abort unwinds the stages.
      if (o.cancelOnAbort) cancelling = inFlight.cancelAll(backend);
      internalAbort.abort(err);
    } else if (o.completeOnEnd) {
      void complete().catch(() => undefined);
    }
    // No await before this point on success: the journal's writes are synchronous
    // inside, and temp files must be gone before the consumer sees 'finish'.
    void journal?.close().catch(() => undefined);
    removeWorkDir(workDir, journal?.dir);
    const closingWebhook = webhook?.close();
    await cancelling;
    await closingWebhook;
    if (!lent) await backend.close().catch(() => undefined);
  };

  return {
    backend,
    runId,
    workDir,
    journal,
    signal,
    events: new RunEvents(),
    inFlight,
    jobWindow: new Slots(o.maxJobsInFlight, 'maxJobsInFlight'),
    ...(webhook ? { webhook } : {}),
    end,
    complete,
  };
}

/** Open the state dir's journal; a run it records as complete is not run again. */
function openStateDir(o: ResolvedOptions<unknown>, backend: string): RunJournal {
  makeDirs(o.stateDir!);
  const journal = openJournal(o.stateDir!, {
    runId: o.runId,
    // The backend only when not the Developer API, so journals written before there was a choice still resume.
    fingerprint: { model: o.model, task: o.task, mode: o.mode, maxFileBytes: o.maxFileBytes, maxInlineBytes: o.maxInlineBytes, maxRequestsPerBatch: o.maxRequestsPerBatch, ...(backend !== 'gemini' ? { backend } : {}) },
  });
  if (journal.completed) {
    void journal.close().catch(() => undefined);
    throw new GeminiBatchError(
      'ERR_STATE_COMPLETE',
      `the run recorded in ${o.stateDir} is already complete: its results were delivered; use a new stateDir (or remove this one) to run again`,
    );
  }
  return journal;
}
