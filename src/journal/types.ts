/**
 * What the stages ask of the run journal. Every method that records an
 * intent resolves only after the record is on disk (fsync), so a crash right
 * after it cannot forget it.
 */
import type { BatchState } from '../api/types.js';
import type { Chunk, ResultError } from '../types.js';

export interface ChunkRecord {
  index: number;
  firstSeq: number;
  count: number;
  bytes: number;
  sha256: string;
  uploadUrl?: string;
  fileName?: string;
  /** displayName → batch name ('' while only intended). */
  batches: Record<string, string>;
  /** displayName → terminal state */
  terminal: Record<string, BatchState>;
  /** Local results file, complete. */
  resultsPath?: string;
  /** The error records without a result line get (a batch that failed for good). */
  failure?: ResultError;
}

export interface RunJournal {
  readonly runId: string;
  /** Where an earlier run ended chunk `index` (exclusive seq), to cut chunks identically. */
  knownChunkEnd(index: number): number | undefined;
  /** Records the chunk, or checks it against the earlier run (ERR_STATE_MISMATCH when the input differs). */
  chunkSpooled(chunk: Chunk): Promise<ChunkRecord>;
  get(index: number): ChunkRecord | undefined;
  uploadStarted(index: number, uploadUrl: string): Promise<void>;
  uploadFinished(index: number, fileName: string): Promise<void>;
  createIntended(index: number, displayName: string): Promise<void>;
  batchCreated(index: number, displayName: string, batchName: string): Promise<void>;
  batchTerminal(index: number, displayName: string, state: BatchState): Promise<void>;
  resultsDownloaded(index: number, path: string, failure?: ResultError): Promise<void>;
  /** Results up to (exclusive) seq have been emitted downstream. */
  emitted(seqEnd: number): Promise<void>;
  /** The directory where durable results files are kept. */
  readonly resultsDir: string;
  /** The run's output is safe: drop the results files kept for a resume. */
  complete(): Promise<void>;
  close(): Promise<void>;
}
