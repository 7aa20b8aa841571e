/**
 * The core of stage 4 (batchSubmitter): one uploaded chunk to its
 * FinishedJob. Creates the batch (at most once,
 * ever: the journal records the intent before the call and a lost answer is
 * resolved by listing batches for the displayName), polls it with backoff,
 * applies the FAILED / EXPIRED / CANCELLED / 429-on-create policies and
 * brings the results to a local JSONL file.
 */
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import pLimit from 'p-limit';
import { GeminiApiError } from '../../api/errors.js';
import { sleep } from '../../api/retry.js';
import type { BatchOperation, BatchState, BatchTask, GeminiClient } from '../../api/types.js';
import { GeminiBatchError, abortError } from '../../errors.js';
import type { RunJournal } from '../../journal/types.js';
import type { FinishedJob, JobEvent, ResultError, UploadedChunk } from '../../types.js';
import { inlineRequestsStream } from '../../internal/wire/inline-body.js';
import type { Semaphore } from '../../internal/concurrency/semaphore.js';
import { copyFlaggedRequests, copyLines, retryableRequests } from './spool-parts.js';
import { uploadChunkFile } from '../uploader.js';
import { crashPoint } from '../../failpoints.js';

export interface BatchSubmitterOptions {
  client: GeminiClient;
  model: string;
  task?: BatchTask;
  /** Batches are named `<runId>-<chunk>`. */
  runId: string;
  /** Directory for results files (must exist). */
  dir: string;
  maxJobsInFlight?: number;
  pollInterval?: { initialMs?: number; maxMs?: number };
  cleanupRemote?: boolean;
  maxJobAttempts?: number;
  minSplitRequests?: number;
  onCancelled?: 'emit' | 'error';
  retryFailedRequests?: number;
  /** Inline body limit, for deciding how to send split halves and retries. */
  maxInlineBytes?: number;
  ordered?: boolean;
  signal?: AbortSignal;
  journal?: RunJournal;
  /** Shared with the demuxer, which releases a slot once a job's results are all out. */
  window?: Semaphore;
  /** Results below this seq were emitted by an earlier run: chunks entirely below it are skipped. */
  skipResults?: number;
  onJob?: (e: JobEvent) => void;
  onBytesUploaded?: (n: number) => void;
}

/** What one batch attempt ended as. */
interface Outcome {
  state: BatchState;
  batchName: string;
  op: BatchOperation;
}

/** The pure core: runs one chunk to its FinishedJob. */
export class BatchRunner {
  private readonly task: BatchTask;
  private readonly inFlight = new Set<string>();
  private readonly uploaded = new Set<string>();
  /**
   * Downloads at once: local disk is the bottleneck, not the number of
   * sockets, and every download in flight keeps its own buffers alive.
   */
  private readonly downloads = pLimit(2);
  /** Responses files per chunk, deleted on the service once the chunk's results are recorded. */
  private readonly remoteResults = new Map<number, string[]>();

  constructor(private readonly opts: BatchSubmitterOptions) {
    this.task = opts.task ?? 'generate';
  }

  /** Batches created and not finished; cancelOnAbort cancels them. */
  batchesInFlight(): string[] {
    return [...this.inFlight];
  }

  /** Files uploaded upstream for chunks not yet here: cancelOnAbort deletes them too. */
  trackUpload(fileName: string): void {
    this.uploaded.add(fileName);
  }

  uploadedFiles(): string[] {
    return [...this.uploaded];
  }

  async run(chunk: UploadedChunk): Promise<FinishedJob> {
    const o = this.opts;
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
    this.remoteResults.set(chunk.index, []);
    if (chunk.fileName) this.uploaded.add(chunk.fileName);
    const outcome = await this.runWithPolicies(chunk, chunk.spoolPath, chunk.fileName, chunk.lineCount, String(chunk.index), resultsPath, 0);
    if (outcome.failure === undefined && o.retryFailedRequests) {
      await this.retryFailedRequests(chunk, resultsPath);
    }
    crashPoint('results-downloaded');
    await o.journal?.resultsDownloaded(chunk.index, resultsPath, outcome.failure);
    // Only now that the results are safe locally may the service's copies go.
    const remote = this.remoteResults.get(chunk.index) ?? [];
    this.remoteResults.delete(chunk.index);
    if (o.cleanupRemote !== false) {
      for (const f of remote) await this.deleteFile(f);
      if (chunk.fileName) await this.deleteFile(chunk.fileName);
    }
    // Kept files are the user's now: an abort later must not delete them, and the set stays bounded.
    if (chunk.fileName) this.uploaded.delete(chunk.fileName);
    return {
      chunk,
      batchName: outcome.batchName,
      state: outcome.state,
      resultsPath,
      failure: outcome.failure,
    };
  }

  /**
   * Runs a set of request lines (a chunk or a split part) until it has
   * results or a final failure. Results of every part are appended to
   * resultsPath: the demuxer matches by key, so parts can land in any order.
   */
  private async runWithPolicies(
    chunk: UploadedChunk,
    spoolPath: string,
    fileName: string | undefined,
    lines: number,
    part: string,
    resultsPath: string,
    depth: number,
  ): Promise<{ state: BatchState; batchName: string; failure?: ResultError }> {
    const o = this.opts;
    const maxAttempts = o.maxJobAttempts ?? 3;
    let last: Outcome | undefined;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const displayName = attempt === 1 ? `${o.runId}-${part}` : `${o.runId}-${part}-r${attempt}`;
      last = await this.runOnce(chunk, spoolPath, fileName, lines, displayName, resultsPath);
      if (last.state === 'SUCCEEDED') return { state: last.state, batchName: last.batchName };
      if (last.state === 'FAILED') {
        this.event(chunk, 'RESUBMITTING', lines, last.batchName, `attempt ${attempt} FAILED: ${last.op.error?.message ?? ''}`);
        continue;
      }
      break;
    }
    const { state, batchName, op } = last!;
    if (state === 'EXPIRED' && lines > Math.max(1, o.minSplitRequests ?? 1) && depth < 32) {
      this.event(chunk, 'RESUBMITTING', lines, batchName, 'EXPIRED: splitting in two');
      return this.splitAndRun(chunk, spoolPath, lines, part, resultsPath, depth);
    }
    if (state === 'CANCELLED' && o.onCancelled === 'error') {
      throw new GeminiBatchError('ERR_BATCH_FAILED', `batch ${batchName} (chunk ${chunk.index}) was cancelled`);
    }
    const failure: ResultError = {
      code: op.error?.code ?? (state === 'EXPIRED' ? 504 : 500),
      status: `BATCH_${state}`,
      message:
        state === 'FAILED'
          ? `batch ${batchName} failed ${maxAttempts} times: ${op.error?.message ?? 'no reason given'}`
          : `batch ${batchName} ended ${state}`,
    };
    return { state, batchName, failure };
  }

  private async splitAndRun(
    chunk: UploadedChunk,
    spoolPath: string,
    lines: number,
    part: string,
    resultsPath: string,
    depth: number,
  ): Promise<{ state: BatchState; batchName: string; failure?: ResultError }> {
    const half = Math.ceil(lines / 2);
    const paths = [`${spoolPath}.part-${part}-a`, `${spoolPath}.part-${part}-b`];
    await copyLines(spoolPath, paths[0]!, (_line, i) => i < half);
    await copyLines(spoolPath, paths[1]!, (_line, i) => i >= half);
    const results = [];
    for (const [k, p] of paths.entries()) {
      const n = k === 0 ? half : lines - half;
      if (n === 0) continue;
      const sub = `${part}.${k === 0 ? 'a' : 'b'}`;
      const fileName = await this.maybeUpload(chunk, p, sub);
      try {
        results.push(await this.runWithPolicies(chunk, p, fileName, n, sub, resultsPath, depth + 1));
      } finally {
        if (fileName && this.opts.cleanupRemote !== false) await this.deleteFile(fileName);
        if (fileName) this.uploaded.delete(fileName);
        await rm(p, { force: true });
      }
    }
    const failed = results.find((r) => r.failure);
    return failed ?? results[results.length - 1]!;
  }

  /** Upload a split part or a retry set when it is too large to go inline. */
  private async maybeUpload(chunk: UploadedChunk, path: string, part: string): Promise<string | undefined> {
    const size = (await stat(path)).size;
    if (chunk.mode === 'inline' && size < (this.opts.maxInlineBytes ?? 20_000_000) / 2) return undefined;
    const file = await uploadChunkFile(this.opts.client, path, `${this.opts.runId}-${part}`, {
      signal: this.opts.signal,
      onBytes: this.opts.onBytesUploaded,
    });
    this.uploaded.add(file);
    return file;
  }

  /** Create (or adopt) one batch, wait for it, fetch its results (appending to resultsPath). */
  private async runOnce(
    chunk: UploadedChunk,
    spoolPath: string,
    fileName: string | undefined,
    lines: number,
    displayName: string,
    resultsPath: string,
  ): Promise<Outcome> {
    const o = this.opts;
    const journal = o.journal;
    const prior = journal?.get(chunk.index);
    let batchName = prior?.batches[displayName] || undefined;
    const terminal = prior?.terminal[displayName];
    if (!batchName && prior && displayName in prior.batches) {
      // Intended before a crash, answer never recorded: adopt it if it exists.
      batchName = await this.findByDisplayName(displayName);
    }
    if (!batchName) {
      this.event(chunk, 'CREATING', lines, undefined, displayName);
      await journal?.createIntended(chunk.index, displayName);
      batchName = await this.create(spoolPath, fileName, displayName);
      crashPoint('create-sent');
      await journal?.batchCreated(chunk.index, displayName, batchName);
    }
    // Stays listed until it reaches a terminal state, so an abort can still cancel it.
    this.inFlight.add(batchName);
    const inlinePath = `${resultsPath}.inline-${displayName}`;
      let lastState: BatchState | undefined;
      const op = await o.client.batches.waitForBatch(batchName, {
        signal: o.signal,
        pollInterval: o.pollInterval,
        inlineResultsPath: inlinePath,
        onState: (s) => {
          if (s.state !== lastState) {
            if (s.state === 'RUNNING') crashPoint('polling');
            lastState = s.state;
            this.event(chunk, s.state, lines, batchName);
          }
        },
      });
      this.inFlight.delete(batchName);
      if (terminal === undefined) await journal?.batchTerminal(chunk.index, displayName, op.state);
      if (op.state === 'SUCCEEDED') {
        if (op.responsesFile) {
          await this.appendDownload(op.responsesFile, resultsPath);
          this.remoteResults.get(chunk.index)?.push(op.responsesFile);
        } else {
          await appendFile(inlinePath, resultsPath);
        }
      }
      await rm(inlinePath, { force: true });
      return { state: op.state, batchName, op };
  }

  private async create(spoolPath: string, fileName: string | undefined, displayName: string): Promise<string> {
    const o = this.opts;
    const inline = fileName ? undefined : () => inlineRequestsStream(spoolPath);
    let wait = o.pollInterval?.initialMs ?? 2_000;
    for (;;) {
      if (o.signal?.aborted) throw abortError(o.signal);
      try {
        const op = await o.client.batches.create({
          model: o.model,
          task: this.task,
          displayName,
          fileName,
          inlineRequests: inline,
          signal: o.signal,
        });
        return op.name;
      } catch (err) {
        if (err instanceof GeminiApiError && err.ambiguous) {
          // The request may have reached the service: never create again before looking.
          const found = await this.findByDisplayName(displayName);
          if (found) return found;
          await sleep(wait / 4 + Math.random() * wait, o.signal);
          wait = Math.min(wait * 2, o.pollInterval?.maxMs ?? 60_000);
          continue;
        }
        if (err instanceof GeminiApiError && err.status === 429) {
          // Enqueued-request quota: not a failure, wait for running jobs to drain.
          await sleep(wait + Math.random() * wait, o.signal);
          wait = Math.min(wait * 2, o.pollInterval?.maxMs ?? 60_000);
          continue;
        }
        throw err;
      }
    }
  }

  private async findByDisplayName(displayName: string): Promise<string | undefined> {
    for await (const op of this.opts.client.batches.list({ pageSize: 100, signal: this.opts.signal })) {
      if (op.displayName === displayName) return op.name;
    }
    return undefined;
  }

  private async appendDownload(fileName: string, path: string): Promise<void> {
    // Queued at most once per job in flight: bounded by maxJobsInFlight.
    await this.downloads(async () => {
      const body = await this.opts.client.files.download(fileName, this.opts.signal);
      await pipeline(body, createWriteStream(path, { flags: 'a' }));
    });
  }

  private async deleteFile(name: string): Promise<void> {
    try {
      await this.opts.client.files.delete(name, this.opts.signal);
    } catch (err) {
      // Cleanup is best effort: a leftover file expires in 48 h on its own.
      if (!(err instanceof GeminiApiError)) throw err;
    }
    this.uploaded.delete(name);
  }

  /**
   * Requests that failed with a retryable status go again in a follow-up
   * batch; their new lines are appended, and the demuxer prefers a success
   * line over an error line for the same key.
   */
  private async retryFailedRequests(chunk: UploadedChunk, resultsPath: string): Promise<void> {
    const o = this.opts;
    for (let round = 1; round <= (o.retryFailedRequests ?? 0); round++) {
      const retryPath = `${chunk.spoolPath}.retry-${round}`;
      const n = await copyFlaggedRequests(chunk.spoolPath, retryPath, await retryableRequests(resultsPath, chunk), chunk.firstSeq);
      if (n === 0) {
        await rm(retryPath, { force: true });
        return;
      }
      const part = `${chunk.index}.retry${round}`;
      const fileName = await this.maybeUpload(chunk, retryPath, part);
      try {
        await this.runWithPolicies(chunk, retryPath, fileName, n, part, resultsPath, 0);
      } finally {
        if (fileName && o.cleanupRemote !== false) await this.deleteFile(fileName);
        if (fileName) this.uploaded.delete(fileName);
        await rm(retryPath, { force: true });
      }
    }
  }

  private event(chunk: UploadedChunk, state: JobEvent['state'], requests: number, batchName?: string, detail?: string) {
    this.opts.onJob?.({ chunk: chunk.index, batchName, state, requests, detail });
  }
}

/** Append one file to another; a missing source (a job that returned no inline array) adds nothing. */
async function appendFile(from: string, to: string): Promise<void> {
  if (!existsSync(from)) return;
  await pipeline(createReadStream(from), createWriteStream(to, { flags: 'a' }));
}
