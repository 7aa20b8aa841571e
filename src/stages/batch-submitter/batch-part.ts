/** The unit stage 4 works on: a set of request lines of one chunk that goes to the service as one batch. */
import type { BatchOperation, BatchState } from '../../backends/gemini/types.js';
import type { ResultError, UploadedChunk } from '../../types.js';

export interface BatchPart {
  /** The chunk the lines belong to (its journal entry, its events, its results file). */
  chunk: UploadedChunk;
  /** The request lines: the chunk's spool file, a split half or a retry set. */
  spoolPath: string;
  /** The uploaded input file; undefined sends the lines inline. */
  fileName?: string;
  /** Request lines in spoolPath. */
  lines: number;
  /** Names its batches `<runId>-<label>` ('3', '3.a', '3.retry1'), attempts add `-r<n>`. */
  label: string;
  /** Results of every part of a chunk are appended here: the demuxer matches by key. */
  resultsPath: string;
  /** How many times it was halved (an EXPIRED part is split again, up to a limit). */
  depth: number;
}

/** What one batch of a part ended as. */
export interface Attempt {
  state: BatchState;
  batchName: string;
  op: BatchOperation;
}

/** What a part ended as after the policies: results, or the error its records get. */
export interface PartOutcome {
  state: BatchState;
  batchName: string;
  failure?: ResultError;
}
