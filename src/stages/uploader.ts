/**
 * Stage 3: Chunk → UploadedChunk. A file-mode chunk's spool goes where the
 * backend reads input (the backend's input store: a Files API upload, a
 * Cloud Storage object), through the run's one way to put input
 * (src/run/input.ts: within the storage budget, registered in flight);
 * inline chunks pass through. With a journal, the upload session URL is
 * recorded before the first byte, so a restarted run continues from the
 * service's received offset instead of from zero, and a finished upload of
 * identical bytes is never redone.
 */
import type { Duplex } from 'node:stream';
import { atStageBoundary } from '../errors.js';
import { Slots, boundedMap } from '../internal/concurrency/bounded.js';
import { chunkPart } from '../journal/journal.js';
import { uploaderOptionsSchema, type ResolvedUploaderOptions, type UploaderOptions } from '../options/uploader.js';
import { parseOptions } from '../options/parse.js';
import type { RunContext } from '../run/context.js';
import { InFlight } from '../run/in-flight.js';
import { putInput } from '../run/input.js';
import type { Chunk, UploadedChunk } from '../types.js';

export type { UploaderOptions } from '../options/uploader.js';

/** What the uploader uses of the run: backend and runId at least. */
export type UploaderContext = Pick<RunContext, 'backend' | 'runId'> & Partial<Pick<RunContext, 'signal' | 'journal' | 'events' | 'inFlight' | 'budget'>>;

/** The core: one chunk to its uploaded form. */
export async function uploadChunk(ctx: UploaderContext, chunk: Chunk, opts: ResolvedUploaderOptions): Promise<UploadedChunk> {
  if (chunk.mode === 'inline' || chunk.lineCount === 0) return chunk;
  if (chunk.firstSeq + chunk.count <= opts.skipResults) return chunk;
  const journal = ctx.journal;
  const prior = journal?.get(chunk.index);
  if (prior?.resultsPath) return chunk;
  if (prior?.fileName) return { ...chunk, fileName: prior.fileName };
  // The budget stopped sending and this chunk has no batch yet: stage 4 will refuse it, so its bytes need not go up.
  if (ctx.budget?.stopped && Object.keys(prior?.batches ?? {}).length === 0) return chunk;
  ctx.events?.job({ chunk: chunk.index, state: 'UPLOADING', requests: chunk.lineCount });
  const progress = ctx.events?.progress;
  // Waits for room under the run's storage budget first (stage 4 frees it as it removes inputs).
  const run = { backend: ctx.backend, inFlight: ctx.inFlight ?? new InFlight(), ...(ctx.signal ? { signal: ctx.signal } : {}) };
  const fileName = await putInput(run, chunk.spoolPath, chunk.bytes, `${ctx.runId}-${chunkPart(chunk.index, prior?.attempt)}`, {
    uploadUrl: prior?.uploadUrl,
    onUploadUrl: journal ? (url) => journal.uploadStarted(chunk.index, url) : undefined,
    onBytes: progress ? (n) => (progress.bytesUploaded += n) : undefined,
  }).catch((err: unknown) => {
    throw atStageBoundary(err, `uploading chunk ${chunk.index} (records ${chunk.firstSeq}..${chunk.firstSeq + chunk.count - 1})`);
  });
  await journal?.uploadFinished(chunk.index, fileName);
  ctx.events?.job({ chunk: chunk.index, state: 'UPLOADED', requests: chunk.lineCount, detail: fileName });
  return { ...chunk, fileName };
}

/** Chunk (object mode) → UploadedChunk (object mode), in chunk order, uploadConcurrency at once. */
export function uploader(ctx: UploaderContext, options: UploaderOptions = {}): Duplex {
  const opts = parseOptions(uploaderOptionsSchema, options, 'uploader');
  return boundedMap<Chunk, UploadedChunk>({
    slots: new Slots(opts.uploadConcurrency, 'uploadConcurrency'),
    ordered: true,
    task: (chunk) => uploadChunk(ctx, chunk, opts),
  });
}
