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
 * - budget: with the `budget` option, the spending account stage 4 keeps
 *   (budget-ledger.ts); a run the budget stopped is not recorded complete,
 *   so the same state dir with a larger cap sends what was not sent
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
import { BudgetLedger } from './budget-ledger.js';
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
  readonly budget?: BudgetLedger;
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
  const budget = o.budget ? new BudgetLedger(o.budget, journal) : undefined;
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
    } else if (o.completeOnEnd && !budget?.stopped) {
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
    ...(budget ? { budget } : {}),
    end,
    complete,
  };
}

/**
 * Open the state dir's journal. A run it records as complete goes on only
 * with records past its end (a grown input, issue 20): geminiBatch skips the
 * records it delivered and refuses, with ERR_STATE_COMPLETE, an input that
 * brings nothing new.
 */
function openStateDir(o: ResolvedOptions<unknown>, backend: string): RunJournal {
  makeDirs(o.stateDir!);
  // The backend only when not the Developer API, so journals written before there was a choice still resume.
  const fingerprint = { model: o.model, task: o.task, mode: o.mode, maxFileBytes: o.maxFileBytes, maxInlineBytes: o.maxInlineBytes, maxRequestsPerBatch: o.maxRequestsPerBatch, ...(backend !== 'gemini' ? { backend } : {}) };
  const journal = openJournal(o.stateDir!, { runId: o.runId, fingerprint });
  if (journal.completed || journal.deliveredSeq > 0) {
    // Records past its end would be answered under other settings than those before them.
    const changed = journal.completed ? journal.changedSettings(fingerprint) : [];
    const why = changed.length
      ? `it ran with other settings (${changed.join('; ')})`
      : !o.ordered
        ? 'its results were delivered, and records past its end are told apart only in order (ordered: true)'
        : undefined;
    if (why) {
      void journal.close().catch(() => undefined);
      throw completeError(o.stateDir!, why);
    }
  }
  return journal;
}

export function completeError(stateDir: string, why: string): GeminiBatchError {
  return new GeminiBatchError('ERR_STATE_COMPLETE', `the run recorded in ${stateDir} is already complete: ${why}; use a new stateDir (or remove this one) to run again`);
}
