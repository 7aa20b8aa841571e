/**
 * Stage 3: Chunk → UploadedChunk. Resumable upload of file-mode spool files
 * (inline chunks pass through). With a journal, the upload session URL is
 * recorded before the first byte, so a restarted run continues from the
 * service's received offset instead of from zero, and a finished upload of
 * identical bytes is never redone.
 */
import type { Transform } from 'node:stream';
import type { GeminiClient } from '../api/types.js';
import type { RunJournal } from '../journal/types.js';
import type { Chunk, JobEvent, UploadedChunk } from '../types.js';
import { concurrentTransform } from '../internal/concurrency/concurrent.js';
import { crashPoint } from '../failpoints.js';
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
  /** Called with each uploaded file name (cancelOnAbort deletes them). */
  onUploaded?: (fileName: string) => void;
}

export async function uploadChunkFile(
  client: GeminiClient,
  path: string,
  displayName: string,
  opts: {
    signal?: AbortSignal;
    uploadUrl?: string;
    onUploadUrl?: (url: string) => Promise<void> | void;
    onBytes?: (n: number) => void;
  } = {},
): Promise<string> {
  let acked = 0;
  const file = await client.files.upload(path, {
    displayName,
    mimeType: 'application/jsonl',
    uploadUrl: opts.uploadUrl,
    onUploadUrl: opts.onUploadUrl,
    signal: opts.signal,
    onProgress: (p) => {
      if (p.offset < p.total) crashPoint('upload-piece');
      if (p.offset > acked) opts.onBytes?.(p.offset - acked);
      acked = p.offset;
    },
  });
  return file.name;
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
  const fileName = await uploadChunkFile(opts.client, chunk.spoolPath, `${opts.runId}-${chunk.index}`, {
    signal: opts.signal,
    uploadUrl: prior?.uploadUrl,
    onUploadUrl: journal ? (url) => journal.uploadStarted(chunk.index, url) : undefined,
    onBytes: opts.onBytesUploaded,
  }).catch((err: unknown) => {
    throw withContext(err, `uploading chunk ${chunk.index} (records ${chunk.firstSeq}..${chunk.firstSeq + chunk.count - 1})`);
  });
  await journal?.uploadFinished(chunk.index, fileName);
  opts.onUploaded?.(fileName);
  opts.onJob?.({ chunk: chunk.index, state: 'UPLOADED', requests: chunk.lineCount, detail: fileName });
  return { ...chunk, fileName };
}

/** Chunk (object mode) → UploadedChunk (object mode), in chunk order. */
export function uploader(opts: UploaderOptions): Transform {
  return concurrentTransform<Chunk, UploadedChunk>({
    concurrency: opts.uploadConcurrency ?? 2,
    ordered: true,
    task: (chunk) => uploadChunk(chunk, opts),
  });
}
