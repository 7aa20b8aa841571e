/**
 * geminiBatch(): the five stages joined into one Duplex. Records in, one
 * KeyedResult per record out, in input order.
 */
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as nodeStream from 'node:stream';
import type { Duplex } from 'node:stream';
import { createGeminiClient } from './api/client.js';
import type { GeminiClient } from './api/types.js';
import { abortError } from './errors.js';
import { openJournal } from './journal/journal.js';
import type { RunJournal } from './journal/types.js';
import { resolveOptions, type GeminiBatchOptions } from './options.js';
import { ProgressCounters } from './progress.js';
import { batchSubmitter } from './stages/batch-submitter/index.js';
import { InFlight } from './run/in-flight.js';
import { resultDemuxer } from './stages/result-demuxer/index.js';
import { Slots } from './internal/concurrency/bounded.js';
import { sizeChunker } from './stages/size-chunker.js';
import { toRequestLine } from './stages/to-request-line.js';
import { uploader } from './stages/uploader.js';
import type { BatchRecord, JobEvent, ProgressSnapshot } from './types.js';
import { Transform } from 'node:stream';

// stream.compose exists since Node 16.9 but @types/node 20 does not declare it.
const compose = (nodeStream as unknown as { compose: (...streams: NodeJS.ReadWriteStream[]) => Duplex }).compose;

const PROGRESS_EVERY_MS = 500;

/** The geminiBatch() duplex, with its events typed. */
export interface GeminiBatchStream extends Duplex {
  /** The run journal, when a stateDir was given (the CLI completes it once its output is durable). */
  journal?: RunJournal;
  on(event: 'progress', listener: (p: ProgressSnapshot) => void): this;
  on(event: 'job', listener: (e: JobEvent) => void): this;
  // Node's own signature, kept so every Duplex event still type-checks.
  on(event: string | symbol, listener: (...args: any[]) => void): this;
  once(event: 'progress', listener: (p: ProgressSnapshot) => void): this;
  once(event: 'job', listener: (e: JobEvent) => void): this;
  once(event: string | symbol, listener: (...args: any[]) => void): this;
}

export interface GeminiBatchInternals {
  /** Inject a client (tests, CLI); it is not closed by the pipeline. */
  client?: GeminiClient;
  /** 1-based line numbers in errors (JSONL readers). */
  lineNumbers?: boolean;
  /** The caller completes the journal itself once its output is durable (the CLI). */
  deferJournalComplete?: boolean;
}

/**
 * Run records through the Gemini Batch API.
 *
 * ```ts
 * await pipeline(records, geminiBatch({ model: 'gemini-2.5-flash' }), sink);
 * ```
 * Emits `progress` (ProgressSnapshot) and `job` (JobEvent) events.
 */
export function geminiBatch<R = BatchRecord>(
  options: GeminiBatchOptions<R>,
  internals: GeminiBatchInternals = {},
): GeminiBatchStream {
  const o = resolveOptions(options);
  const ownsClient = !internals.client;
  const client =
    internals.client ?? createGeminiClient({ apiKey: o.apiKey, baseUrl: o.baseUrl, ...(o.retry ? { retry: o.retry } : {}) });
  const workDir = mkdtempSync(join(o.tmpDir ?? tmpdir(), 'gemini-batch-'));
  let journal: RunJournal | undefined;
  try {
    if (o.stateDir) {
      mkdirSync(o.stateDir, { recursive: true });
      journal = openJournal(o.stateDir, {
        runId: o.runId,
        fingerprint: { model: o.model, task: o.task, mode: o.mode, maxFileBytes: o.maxFileBytes, maxInlineBytes: o.maxInlineBytes, maxRequestsPerBatch: o.maxRequestsPerBatch },
      });
    }
  } catch (err) {
    rmSync(workDir, { recursive: true, force: true });
    if (ownsClient) void client.close();
    throw err;
  }
  const runId = journal?.runId ?? o.runId ?? `gb-${randomBytes(5).toString('hex')}`;
  const progress = new ProgressCounters();
  const inFlight = new InFlight();
  const window = new Slots(o.maxJobsInFlight, 'maxJobsInFlight');
  // Stages see an internal signal so destroy() stops their waits as abort does.
  const internalAbort = new AbortController();
  const signal = o.signal ? AbortSignal.any([o.signal, internalAbort.signal]) : internalAbort.signal;
  // Every request in flight listens on it; their number is bounded by the concurrency options.
  setMaxListeners(0, internalAbort.signal, signal);

  let composed: Duplex;
  const onJob = (e: Parameters<ProgressCounters['onJob']>[0]) => {
    progress.onJob(e);
    composed?.emit('job', e);
  };

  const requestLines = toRequestLine<R>({
    toRequest: o.toRequest,
    task: o.task,
    onInvalid: o.onInvalid,
    maxLineBytes: o.maxLineBytes,
    lineNumbers: internals.lineNumbers,
    onLine: (rl) => {
      progress.recordsIn++;
      if (rl.invalid) progress.invalidRecords++;
    },
  });
  const chunker = sizeChunker({
    dir: workDir,
    mode: o.mode,
    maxFileBytes: o.maxFileBytes,
    maxInlineBytes: o.maxInlineBytes,
    maxRequestsPerBatch: o.maxRequestsPerBatch,
    flushAfterMs: o.flushAfterMs,
    knownChunkEnd: journal ? (i) => journal!.knownChunkEnd(i) : undefined,
    onChunk: (ch) => {
      progress.chunksSpooled++;
      progress.bytesSpooled += ch.bytes;
    },
  });
  const verify = journal
    ? new Transform({
        objectMode: true,
        highWaterMark: 1,
        transform(chunk, _enc, cb) {
          journal!.chunkSpooled(chunk).then(() => cb(null, chunk), cb);
        },
      })
    : undefined;
  const uploads = uploader({
    client,
    runId,
    uploadConcurrency: o.uploadConcurrency,
    signal,
    journal,
    skipResults: o.skipResults,
    onBytesUploaded: (n) => (progress.bytesUploaded += n),
    onJob,
    inFlight,
  });
  const submitterOpts = {
    client,
    model: o.model,
    task: o.task,
    runId,
    dir: workDir,
    maxJobsInFlight: o.maxJobsInFlight,
    pollInterval: o.pollInterval,
    cleanupRemote: o.cleanupRemote,
    maxJobAttempts: o.maxJobAttempts,
    minSplitRequests: o.minSplitRequests,
    onCancelled: o.onCancelled,
    retryFailedRequests: o.retryFailedRequests,
    maxInlineBytes: o.maxInlineBytes,
    ordered: o.ordered,
    signal,
    journal,
    window,
    inFlight,
    skipResults: o.skipResults,
    onJob,
    onBytesUploaded: (n: number) => (progress.bytesUploaded += n),
  };
  const submitter = batchSubmitter(submitterOpts);
  const demuxer = resultDemuxer({
    task: o.task,
    ordered: o.ordered,
    output: o.output,
    skipResults: o.skipResults,
    window,
    journal,
    onResult: (isError) => {
      progress.resultsOut++;
      if (isError) progress.errorsOut++;
    },
    onTokens: (p, c, t) => {
      progress.tokens.prompt += p;
      progress.tokens.candidates += c;
      progress.tokens.total += t;
    },
  });

  const stages = [requestLines, chunker, ...(verify ? [verify] : []), uploads, submitter, demuxer];
  composed = compose(...stages);

  // compose() turns a plain destroy() into an AbortError; a caller who destroys
  // the stream on purpose should not get an error event for it.
  const composedDestroy = composed._destroy.bind(composed);
  composed._destroy = (err, cb) => composedDestroy(err, (e) => cb(err ? e : null));

  const timer = setInterval(() => composed.emit('progress', progress.snapshot()), PROGRESS_EVERY_MS);
  timer.unref();
  let cleaned = false;
  const cleanup = async (err?: Error | null) => {
    if (cleaned) return;
    cleaned = true;
    clearInterval(timer);
    let cancelling: Promise<unknown> | undefined;
    if (err) {
      // Collect what is in flight before the abort unwinds the stages.
      cancelling = o.cancelOnAbort ? inFlight.cancelAll(client) : undefined;
      internalAbort.abort(err);
    } else if (!internals.deferJournalComplete) {
      void journal?.complete().catch(() => undefined);
    }
    composed.emit('progress', progress.snapshot());
    // No await before this point on success: the journal's writes are synchronous
    // inside, and temp files must be gone before the consumer sees 'finish'.
    void journal?.close().catch(() => undefined);
    rmSync(workDir, { recursive: true, force: true });
    await cancelling;
    if (ownsClient) await client.close().catch(() => undefined);
  };
  composed.on('end', () => void cleanup());
  composed.on('close', () => void cleanup(composed.errored ?? (composed.readableEnded ? null : abortError(signal))));
  if (o.signal) {
    const onAbort = () => composed.destroy(abortError(o.signal));
    if (o.signal.aborted) queueMicrotask(onAbort);
    else o.signal.addEventListener('abort', onAbort, { once: true });
    composed.once('close', () => o.signal!.removeEventListener('abort', onAbort));
  }
  return Object.assign(composed, { journal }) as GeminiBatchStream;
}
