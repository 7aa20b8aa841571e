/**
 * Stage 3: Chunk → UploadedChunk. Resumable upload of file-mode spool files
 * (inline chunks pass through). With a journal, the upload session URL is
 * recorded before the first byte, so a restarted run continues from the
 * service's received offset instead of from zero, and a finished upload of
 * identical bytes is never redone.
 */
import type { Duplex } from 'node:stream';
import type { GeminiClient } from '../api/types.js';
import type { RunJournal } from '../journal/types.js';
import type { Chunk, JobEvent, UploadedChunk } from '../types.js';
import { Slots, boundedMap } from '../internal/concurrency/bounded.js';
import type { InFlight } from '../run/in-flight.js';
import { uploadFile } from '../run/upload-file.js';
import { withContext } from '../errors.js';

export interface UploaderOptions {
  client: GeminiClient;
  /** Uploads are named `<runId>-<chunk>`. */
  runId: string;
  uploadConcurrency?: number;
  signal?: AbortSignal;
  journal?: RunJournal;
  /** Chunks whose results were all emitted by an earlier run need no upload. */
  skipResults?: number;
  onBytesUploaded?: (n: number) => void;
  onJob?: (e: JobEvent) => void;
  /** The run's registry of files in flight: cancelOnAbort deletes them. */
  inFlight?: InFlight;
}

/** The core: one chunk to its uploaded form. */
export async function uploadChunk(chunk: Chunk, opts: UploaderOptions): Promise<UploadedChunk> {
  if (chunk.mode === 'inline' || chunk.lineCount === 0) return chunk;
  if (chunk.firstSeq + chunk.count <= (opts.skipResults ?? 0)) return chunk;
  const journal = opts.journal;
  const prior = journal?.get(chunk.index);
  if (prior?.resultsPath) return chunk;
  if (prior?.fileName) return { ...chunk, fileName: prior.fileName };
  opts.onJob?.({ chunk: chunk.index, state: 'UPLOADING', requests: chunk.lineCount });
  const fileName = await uploadFile(opts.client, chunk.spoolPath, `${opts.runId}-${chunk.index}`, {
    signal: opts.signal,
    uploadUrl: prior?.uploadUrl,
    onUploadUrl: journal ? (url) => journal.uploadStarted(chunk.index, url) : undefined,
    onBytes: opts.onBytesUploaded,
  }).catch((err: unknown) => {
    throw withContext(err, `uploading chunk ${chunk.index} (records ${chunk.firstSeq}..${chunk.firstSeq + chunk.count - 1})`);
  });
  await journal?.uploadFinished(chunk.index, fileName);
  opts.inFlight?.addFile(fileName);
  opts.onJob?.({ chunk: chunk.index, state: 'UPLOADED', requests: chunk.lineCount, detail: fileName });
  return { ...chunk, fileName };
}

/** Chunk (object mode) → UploadedChunk (object mode), in chunk order. */
export function uploader(opts: UploaderOptions): Duplex {
  return boundedMap<Chunk, UploadedChunk>({
    slots: new Slots(opts.uploadConcurrency ?? 2, 'uploadConcurrency'),
    ordered: true,
    task: (chunk) => uploadChunk(chunk, opts),
  });
}
