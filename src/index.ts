/** gemini-batch-stream: the public API. */
export { geminiBatch, type GeminiBatchInternals, type GeminiBatchStream } from './gemini-batch.js';
export type { GeminiBatchOptions } from './options.js';
export { toRequestLine, InvalidInput, RequestLineMaker, type ToRequestLineOptions } from './stages/to-request-line.js';
export { sizeChunker, ChunkBuilder, type SizeChunkerOptions } from './stages/size-chunker.js';
export { uploader, uploadChunk, type UploaderOptions } from './stages/uploader.js';
export { batchSubmitter, BatchRunner, type BatchSubmitterOptions } from './stages/batch-submitter/index.js';
export { resultDemuxer, type ResultDemuxerOptions } from './stages/result-demuxer/index.js';
export { JobResults } from './stages/result-demuxer/job-results.js';
export { createGeminiClient } from './api/client.js';
export { GeminiApiError } from './api/errors.js';
export { GeminiBatchError, InvalidRecordError } from './errors.js';
export { openJournal } from './journal/journal.js';
export type * from './types.js';
export type * from './api/types.js';
