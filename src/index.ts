/** gemini-batch-stream: the public API. */
export { geminiBatch, type GeminiBatchInternals, type GeminiBatchStream } from './gemini-batch.js';
export type { GeminiBatchOptions } from './options.js';
export { toRequestLine, InvalidInput, RequestLineMaker, type ToRequestLineOptions } from './stages/to-request-line.js';
export { sizeChunker, ChunkBuilder, type SizeChunkerOptions, type ChunkerContext } from './stages/size-chunker.js';
export { uploader, uploadChunk, type UploaderOptions, type UploaderContext } from './stages/uploader.js';
export { batchSubmitter, BatchRunner, type BatchSubmitterOptions, type SubmitterContext } from './stages/batch-submitter/index.js';
export { resultDemuxer, type ResultDemuxerOptions, type DemuxerContext } from './stages/result-demuxer/index.js';
export type { RunContext } from './run/context.js';
export { RunEvents } from './run/events.js';
export { InFlight } from './run/in-flight.js';
export { JobResults } from './stages/result-demuxer/job-results.js';
export { createGeminiClient } from './api/client.js';
export { GeminiApiError } from './api/errors.js';
export { GeminiBatchError, InvalidRecordError } from './errors.js';
export { openJournal } from './journal/journal.js';
export type * from './types.js';
export type * from './api/types.js';
