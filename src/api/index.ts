export * from './types.js';
export { createGeminiClient, DEFAULT_BASE_URL } from './client.js';
export { GeminiApiError, isGeminiApiError, ERR_GEMINI_HTTP } from './errors.js';
export { UnaddressableFileError } from './files.js';
export { canGetOrDeleteFile, MAX_ADDRESSABLE_FILE_ID } from './names.js';
export {
  withRetry,
  isRetryable,
  retryUnlessAmbiguous,
  backoffDelay,
  parseRetryAfter,
  sleep,
  DEFAULT_RETRY,
  type RetryEvent,
  type RetryPolicy,
  type WithRetryOptions,
} from './retry.js';
export { normalizeState, resultLineSchema, type ResultLine } from './schemas.js';
export { inlineItemToLine } from './inline-results.js';
export { toBatchOperation } from './batches.js';
export { DEFAULT_CHUNK_SIZE, UPLOAD_GRANULARITY } from './upload.js';
export { findBatchByDisplayName, DEFAULT_FIND_WINDOW_MS } from './find-batch.js';
