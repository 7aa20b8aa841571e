/**
 * geminiBatch(): a run context (src/run/) and the stages assembled as in
 * DESIGN.md's data flow. Records in, one KeyedResult per record out, in
 * input order.
 *
 *   records ─▶ toRequestLine ─▶ sizeChunker ─▶ [journalChunks] ─▶ uploader ─▶ batchSubmitter ─▶ resultDemuxer ─▶ results
 */
import * as nodeStream from 'node:stream';
import type { Duplex } from 'node:stream';
import type { BatchBackend } from './backend/types.js';
import { openBackend } from './backends/index.js';
import type { GeminiClient } from './backends/gemini/types.js';
import { abortError } from './errors.js';
import { fitToBackend } from './options/fit-backend.js';
import type { CompletionInfo, RunJournal } from './journal/types.js';
import { chunkerOptionsSchema } from './options/chunker.js';
import { demuxerOptionsSchema } from './options/demuxer.js';
import { pickFor } from './options/parse.js';
import { submitterOptionsSchema } from './options/submitter.js';
import { uploaderOptionsSchema } from './options/uploader.js';
import { resolveOptions, type GeminiBatchOptions, type ResolvedOptions } from './options.js';
import type { BudgetReport } from './run/budget-ledger.js';
import { openRun, type Run } from './run/context.js';
import { pastDelivered } from './run/grown-input.js';
import { journalChunks } from './run/journal-step.js';
import { batchSubmitter } from './stages/batch-submitter/index.js';
import { resultDemuxer } from './stages/result-demuxer/index.js';
import { sizeChunker } from './stages/size-chunker.js';
import { toRequestLine } from './stages/to-request-line.js';
import { uploader } from './stages/uploader.js';
import type { BatchRecord, JobEvent, ProgressSnapshot } from './types.js';

// stream.compose exists since Node 16.9 but @types/node 20 does not declare it.
const compose = (nodeStream as unknown as { compose: (...streams: NodeJS.ReadWriteStream[]) => Duplex }).compose;

const PROGRESS_EVERY_MS = 500;
/** How long a failing stream waits for its cancels (cancelOnAbort) before it reports the error anyway. */
const CANCEL_WAIT_MS = 15_000;

/** The geminiBatch() duplex, with its events typed. */
export interface GeminiBatchStream extends Duplex {
  /** The run journal, when a stateDir was given. */
  readonly journal?: RunJournal;
  /**
   * Record the run complete in the stateDir's journal, dropping the results
   * kept for a resume. With `completeOnEnd: false`, call it once your own
   * output is durable (a crash before that resumes instead of losing
   * results); a no-op without a stateDir, and idempotent.
   */
  complete(info?: CompletionInfo): Promise<void>;
  /**
   * With the `webhook` option: the url the service is told to POST to (the
   * local server's when `url` was not given; port 0 resolved). Undefined
   * without webhooks; rejects when the receiver could not start.
   */
  webhookUrl(): Promise<string | undefined>;
  /**
   * Resolves once the run has ended after the stream finished, failed or was
   * destroyed: with cancelOnAbort its batches are cancelled and its uploads
   * removed, temp files are gone, sockets closed. Await it before
   * `process.exit()`. (A failing stream already waits for its cancels, up
   * to 15 s, before it reports the error.)
   */
  settled(): Promise<void>;
  /**
   * With the `budget` option: spent (this run's whole history), reserved, and
   * where sending stopped when the budget ran out (a stopped run is not
   * recorded complete: the same stateDir with a larger maxUsd sends the rest).
   */
  spending(): BudgetReport | undefined;
  on(event: 'progress', listener: (p: ProgressSnapshot) => void): this;
  on(event: 'job', listener: (e: JobEvent) => void): this;
  // Node's own signature, kept so every Duplex event still type-checks.
  on(event: string | symbol, listener: (...args: any[]) => void): this;
  once(event: 'progress', listener: (p: ProgressSnapshot) => void): this;
  once(event: 'job', listener: (e: JobEvent) => void): this;
  once(event: string | symbol, listener: (...args: any[]) => void): this;
}

export interface GeminiBatchInternals {
  /** Inject a Developer API client (tests, CLI); it is not closed by the pipeline. */
  client?: GeminiClient;
  /** Inject a whole backend (tests: a backend of their own); it is not closed by the pipeline. */
  backend?: BatchBackend;
  /** 1-based line numbers in errors (JSONL readers). */
  lineNumbers?: boolean;
}

/**
 * Run records through the Gemini Batch API.
 *
 * ```ts
 * await pipeline(records, geminiBatch({ model: 'gemini-2.5-flash' }), sink);
 * ```
 * Emits `progress` (ProgressSnapshot) and `job` (JobEvent) events.
 */
export function geminiBatch<R = BatchRecord>(options: GeminiBatchOptions<R>, internals: GeminiBatchInternals = {}): GeminiBatchStream {
  const o = resolveOptions(options);
  const lent = internals.backend !== undefined || internals.client !== undefined;
  const backend = internals.backend ?? openBackend(o, internals.client);
  let fitted: ResolvedOptions<R>;
  try {
    fitted = fitToBackend(o, backend);
  } catch (err) {
    if (!lent) void backend.close().catch(() => undefined);
    throw err;
  }
  const run = openRun(fitted as ResolvedOptions<unknown>, { backend, lent });
  // A run that completed once (then maybe grew): what it delivered is skipped, only records past it are run.
  const delivered = run.journal?.deliveredSeq ?? 0;
  const settings = delivered === 0 ? fitted : { ...fitted, skipResults: Math.max(fitted.skipResults, delivered) };
  const stages = assemble(run, settings, internals);
  const stream = compose(...(run.journal?.completed ? [pastDelivered(delivered, run.journal.dir), ...stages] : stages));
  return withLifecycle(stream, run, o);
}

/** The stages in data-flow order, each given the run and its own options. */
function assemble<R>(run: Run, o: ResolvedOptions<R>, internals: GeminiBatchInternals): NodeJS.ReadWriteStream[] {
  const progress = run.events.progress;
  return [
    toRequestLine<R>({
      toRequest: o.toRequest,
      task: o.task,
      onInvalid: o.onInvalid,
      maxLineBytes: o.maxLineBytes,
      store: o.store,
      lineNumbers: internals.lineNumbers,
      wire: run.backend.wire,
      onLine: (rl) => {
        progress.recordsIn++;
        if (rl.invalid) progress.invalidRecords++;
      },
    }),
    sizeChunker(run, pickFor(chunkerOptionsSchema, o)),
    ...(run.journal ? [journalChunks(run.journal)] : []),
    uploader(run, pickFor(uploaderOptionsSchema, o)),
    // The run cancels what is in flight itself: it lists it before the abort unwinds the stages.
    batchSubmitter(run, { ...pickFor(submitterOptionsSchema, o), model: o.model, cancelOnAbort: false }),
    resultDemuxer(run, pickFor(demuxerOptionsSchema, o)),
  ];
}

/** Events, the caller's signal, and the run's end on the stream's end, error or destroy. */
function withLifecycle<R>(stream: Duplex, run: Run, o: ResolvedOptions<R>): GeminiBatchStream {
  run.events.onJob((e) => stream.emit('job', e));

  const timer = setInterval(() => stream.emit('progress', run.events.progress.snapshot()), PROGRESS_EVERY_MS);
  timer.unref();
  let ending: Promise<void> | undefined;
  const end = (err: Error | null): Promise<void> => {
    if (ending) return ending;
    clearInterval(timer);
    stream.emit('progress', run.events.progress.snapshot());
    ending = run.end(err).catch(() => undefined);
    return ending;
  };

  // compose() turns a plain destroy() into an AbortError; a caller who destroys
  // the stream on purpose should not get an error event for it. With
  // cancelOnAbort the cancels are sent, and answered (within CANCEL_WAIT_MS),
  // before the error reaches the caller: a script that exits on it must not
  // leave its batches running.
  const composedDestroy = stream._destroy.bind(stream);
  stream._destroy = (err, cb) => {
    const aborted = err ?? (stream.readableEnded ? null : abortError(run.signal));
    const cancelling = aborted && o.cancelOnAbort ? end(aborted) : undefined;
    composedDestroy(err, (e) => {
      const final = err ? e : null;
      if (!cancelling) return cb(final);
      void withTimeout(cancelling, CANCEL_WAIT_MS).then(() => cb(final));
    });
  };
  stream.on('end', () => void end(null));
  stream.on('close', () => void end(stream.errored ?? (stream.readableEnded ? null : abortError(run.signal))));
  if (o.signal) {
    const signal = o.signal;
    const onAbort = () => stream.destroy(abortError(signal));
    if (signal.aborted) queueMicrotask(onAbort);
    else signal.addEventListener('abort', onAbort, { once: true });
    stream.once('close', () => signal.removeEventListener('abort', onAbort));
  }
  const webhookUrl = async () => (run.webhook ? run.webhook.url() : undefined);
  // Resolves once the run has ended: cancels sent (cancelOnAbort), temp files gone, sockets closed.
  const settled = () => new Promise<void>((resolve) => (ending ? resolve(ending) : stream.once('close', () => resolve(ending ?? Promise.resolve()))));
  const spending = () => run.budget?.report();
  return Object.assign(stream, { journal: run.journal, complete: run.complete, webhookUrl, settled, spending }) as GeminiBatchStream;
}

/** `p`, or nothing after `ms`: a cancel the service never answers must not hold the caller's error for ever. */
function withTimeout(p: Promise<unknown>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    t.unref();
    void p.finally(() => {
      clearTimeout(t);
      resolve();
    });
  });
}
