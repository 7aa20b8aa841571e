/**
 * What the stages ask of the run journal. Every method that records an
 * intent resolves only after the record is on disk (fsync), so a crash right
 * after it cannot forget it.
 */
import type { BatchState } from '../backend/types.js';
import type { Chunk, ResultError } from '../types.js';

export interface ChunkRecord {
  index: number;
  firstSeq: number;
  count: number;
  bytes: number;
  sha256: string;
  /**
   * How many times this chunk was given up on the service (cancelled by
   * cancel-on-abort, or lost: a batch or upload the service no longer has).
   * Attempt n > 0 is uploaded and created afresh, under displayName
   * `chunkDisplayName(runId, index, n)`, never reusing the old names.
   */
  attempt: number;
  uploadUrl?: string;
  fileName?: string;
  /** displayName → batch name ('' while only intended), of the current attempt. */
  batches: Record<string, string>;
  /** displayName → the webhook url its create carried (issue 13), when the run had one. */
  webhookUrls?: Record<string, string>;
  /** displayName → terminal state, of the current attempt. */
  terminal: Record<string, BatchState>;
  /** Local results file, complete (absolute path). */
  resultsPath?: string;
  /** The error records without a result line get (a batch that failed for good). */
  failure?: ResultError;
}

/** Why a chunk's work on the service is gone and must be redone. */
export type LostReason =
  /** cancel-on-abort cancelled its batch. */
  | 'cancelled'
  /** The batch is unknown to the service (404: expired after 48 h, deleted by hand). */
  | 'batch-gone'
  /** The uploaded file is unknown to the service (404, expired, deleted). */
  | 'upload-gone';

export interface LostWork {
  index: number;
  reason: LostReason;
  /** The batch had run (or may have run) before it was lost: its price was paid for nothing. */
  paid: boolean;
  /** The attempt that was lost. */
  attempt: number;
}

/** What one batch's results cost, from their usageMetadata (once per batch name). */
export interface BatchCost {
  index: number;
  /** The batch whose results these are (the chunk's last part when it had several). */
  batch: string;
  /** USD at batch price; results of a model with no known price are not in it (see unpriced). */
  usd: number;
  tokens: { prompt: number; cached: number; candidates: number; thoughts: number };
  /** Results whose model had no known price. */
  unpriced?: number;
}

/** What the caller records about its durable output when the run completes. */
export interface CompletionInfo {
  /** The output as written: its length and sha256 (hex), for "already done" checks on a rerun. */
  output?: { bytes: number; sha256: string };
  /** Anything else the caller wants to compare on a rerun (JSON). */
  [key: string]: unknown;
}

export interface RunJournal {
  readonly runId: string;
  /** The state dir, absolute. */
  readonly dir: string;
  /** True when this journal records a completed run: there is nothing left to do. */
  readonly completed: boolean;
  /** What complete() recorded, when completed. */
  readonly completion: CompletionInfo | undefined;
  /**
   * Records below this seq were delivered by a run recorded complete: a
   * stream that brings records past it (a grown input) runs only those; the
   * first chunk recorded past it makes the journal incomplete again.
   */
  readonly deliveredSeq: number;
  /** Where an earlier run ended chunk `index` (exclusive seq), to cut chunks identically. */
  knownChunkEnd(index: number): number | undefined;
  /** Records the chunk, or checks it against the earlier run (ERR_STATE_MISMATCH when the input differs). */
  chunkSpooled(chunk: Chunk): Promise<ChunkRecord>;
  get(index: number): ChunkRecord | undefined;
  /** Chunks recorded without local results yet (what a resume still has to fetch or redo). */
  unfinishedChunks(): ChunkRecord[];
  uploadStarted(index: number, uploadUrl: string): Promise<void>;
  uploadFinished(index: number, fileName: string): Promise<void>;
  /** `webhookUrl`: the url the create carries as webhookConfig, recorded for a resume. */
  createIntended(index: number, displayName: string, webhookUrl?: string): Promise<void>;
  batchCreated(index: number, displayName: string, batchName: string): Promise<void>;
  batchTerminal(index: number, displayName: string, state: BatchState): Promise<void>;
  /**
   * The chunk's batch was cancelled (cancel-on-abort) and/or its upload
   * deleted: a rerun must upload and create it again under attempt + 1.
   * No-op for a chunk whose results are already downloaded.
   */
  chunkCancelled(index: number, detail?: { uploadDeleted?: boolean; paid?: boolean }): Promise<void>;
  /**
   * The service no longer has the chunk's batch or upload (404 on resume,
   * expired): redo it under attempt + 1. `paid` when the batch had run.
   * No-op for a chunk whose results are already downloaded.
   */
  chunkLost(index: number, reason: 'batch-gone' | 'upload-gone', paid: boolean): Promise<void>;
  /** Every chunk given up so far in this run's history (for the summary). */
  lostWork(): readonly LostWork[];
  resultsDownloaded(index: number, path: string, failure?: ResultError): Promise<void>;
  /** What a batch's results cost: recorded before its results are, once per batch name (a later record of the same name replaces it). */
  batchCost(cost: BatchCost): Promise<void>;
  /** Every batch's cost recorded in this run's history, resumed sessions included. */
  costs(): readonly BatchCost[];
  /** The budget stopped sending at record `seq`: a rerun with a larger cap sends from there. */
  budgetStopped(seq: number): Promise<void>;
  /** Where the last budget stop was (undefined: none). */
  readonly budgetStopSeq: number | undefined;
  /** Results up to (exclusive) seq have been emitted downstream. */
  emitted(seqEnd: number): Promise<void>;
  /** The directory where durable results files are kept. */
  readonly resultsDir: string;
  /** The run's output is safe: record it (with `info`) and drop the results files kept for a resume. */
  complete(info?: CompletionInfo): Promise<void>;
  /** Close the file and release the state dir's lock (unless a caller lent it). */
  close(): Promise<void>;
}
