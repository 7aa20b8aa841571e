/**
 * The bytes on the wire, in one module folder: request lines
 * `{"key":"<seq>:<userKey>","request":{...}}\n` (wire-key), result lines in
 * any field order (result-line), inline items (inline-item), per-request
 * errors (result-error), token usage (usage) and token estimates
 * (token-estimate). This file gathers them for the modules that import it.
 */
export { wireKey, splitWireKey, serializeRequestLine } from './wire-key.js';
export { readLineKey, isSuccessLine, rekeyResultLine, type ParsedWireKey } from './result-line.js';
export { inlineItemBytes, inlineEnvelopeBytes, lineToInlineItem } from './inline-item.js';
export { statusName, toResultError, isRetryableResultError, readResultError, GRPC_STATUS_NAMES } from './result-error.js';
export { normaliseUsage, usageFromResponse, readUsage, outputTokens, type TokenUsage, type ModalityTokens } from './usage.js';
export { keyedResult, objectResult, jsonlResult, type ResultOutput } from './result-output.js';
export { estimateRequestTokens } from './token-estimate.js';
export { checkRequest, wantsImageOutput, type RequestCheck } from './request-fields.js';
export { isJson, jsonValueEnd } from './json-validate.js';
export { fastRequestLine } from './request-line-fast.js';
