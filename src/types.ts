/** Public data types that flow between the stages (see DESIGN.md, "Data flow"). */
import type { UsageBucket } from './cost/cost.js';
import type { BatchState, BatchTask } from './backends/gemini/types.js';

/** The default record shape: one line of a Gemini batch JSONL file. */
export interface BatchRecord {
  key?: string | number;
  request: Record<string, unknown>;
}

export interface ResultError {
  code: number;
  message: string;
  status: string;
}

/**
 * A model's answer as the service sends it (the JSON of `@google/genai`'s
 * GenerateContentResponse, without the SDK's helper getters): the fields most
 * code reads are typed; anything else the service sends is still in the
 * object. Declared here so the package's types need no SDK installed, and
 * shaped so the SDK's type is assignable to it.
 */
export interface GenerateContentResponse {
  candidates?: Candidate[];
  promptFeedback?: { blockReason?: string; blockReasonMessage?: string; safetyRatings?: SafetyRating[] };
  usageMetadata?: UsageMetadata;
  modelVersion?: string;
  responseId?: string;
  createTime?: string;
}

export interface Candidate {
  content?: Content;
  finishReason?: string;
  finishMessage?: string;
  index?: number;
  safetyRatings?: SafetyRating[];
  citationMetadata?: { citations?: Array<{ startIndex?: number; endIndex?: number; uri?: string; title?: string; license?: string }> };
  groundingMetadata?: object;
  avgLogprobs?: number;
  tokenCount?: number;
}

export interface Content {
  role?: string;
  parts?: Part[];
}

/** One part of a content: text, inline data (an image), a function call, ... */
export interface Part {
  text?: string;
  thought?: boolean;
  thoughtSignature?: string;
  inlineData?: { mimeType?: string; data?: string };
  fileData?: { mimeType?: string; fileUri?: string };
  functionCall?: { id?: string; name?: string; args?: Record<string, unknown> };
  functionResponse?: { id?: string; name?: string; response?: Record<string, unknown> };
  executableCode?: { language?: string; code?: string };
  codeExecutionResult?: { outcome?: string; output?: string };
}

export interface SafetyRating {
  category?: string;
  probability?: string;
  blocked?: boolean;
}

export interface ModalityTokenCount {
  modality?: string;
  tokenCount?: number;
}

/** Token counts of one answer. */
export interface UsageMetadata {
  promptTokenCount?: number;
  candidatesTokenCount?: number;
  thoughtsTokenCount?: number;
  cachedContentTokenCount?: number;
  toolUsePromptTokenCount?: number;
  totalTokenCount?: number;
  promptTokensDetails?: ModalityTokenCount[];
  candidatesTokensDetails?: ModalityTokenCount[];
  cacheTokensDetails?: ModalityTokenCount[];
}

/** One result per input record: exactly one of response / embedding / error is set. */
export type KeyedResult =
  | { key: string; response: GenerateContentResponse }
  | { key: string; embedding: number[] }
  /** key null: an invalid record whose own key could not be read (its message names the line or record). */
  | { key: string | null; error: ResultError };

/** A record serialised as one JSONL line of the batch input file. */
export interface RequestLine {
  /** 0-based position of the record in the input. */
  seq: number;
  /**
   * The user's key (seq as a string when a valid record had none). An invalid
   * record keeps its own key when it can be read, else null: never a key
   * another record may carry.
   */
  key: string | null;
  /** `{"key":"<seq>:<key>","request":{...}}\n` — the exact bytes uploaded. Absent for an invalid record. */
  line?: Buffer;
  /** Set (instead of `line`) when the record was invalid and onInvalid is 'emit'. */
  invalid?: ResultError;
  /** Estimated input tokens of the request (errs high; see internal/wire/token-estimate.ts). Absent for an invalid record. */
  estimatedTokens?: number;
  /** The request asks for images back (responseModalities with IMAGE): mode 'auto' sends its chunk as a file. */
  imageOutput?: true;
}

/** A closed chunk: a spool file of request lines covering seqs [firstSeq, firstSeq + count). */
export interface Chunk {
  index: number;
  spoolPath: string;
  firstSeq: number;
  /** Records covered, invalid ones included. */
  count: number;
  /** Request lines in the spool file. */
  lineCount: number;
  /** Size of the spool file (= the upload). */
  bytes: number;
  /** Size of the inline create body these lines would make. */
  inlineBytes: number;
  /** Sum of the requests' token estimates (errs high): what the batch adds to the enqueued-token quota. */
  estimatedTokens?: number;
  sha256: string;
  mode: 'file' | 'inline';
  /** Invalid records of this chunk (onInvalid 'emit'), in seq order. */
  invalid: Array<{ seq: number; key: string | null; error: ResultError }>;
}

export interface UploadedChunk extends Chunk {
  /** files/abc for file mode; undefined for inline chunks. */
  fileName?: string;
}

export interface FinishedJob {
  chunk: UploadedChunk;
  /** Batch name(s) that produced these results. */
  batchName?: string;
  state: BatchState;
  /** JSONL result lines on disk (file or inline results); absent when the job produced none. */
  resultsPath?: string;
  /** When the job did not succeed: the error every record without a result gets. */
  failure?: ResultError;
}

export interface ProgressSnapshot {
  recordsIn: number;
  invalidRecords: number;
  chunksSpooled: number;
  bytesSpooled: number;
  bytesUploaded: number;
  jobs: Partial<Record<BatchState, number>>;
  resultsOut: number;
  errorsOut: number;
  /** Error results by status (INTERNAL, MISSING_RESULT, INVALID_RECORD, ...), the same in objects and jsonl output. */
  errorsByStatus: Record<string, number>;
  /**
   * Tokens the service reported: thoughts are thinking tokens (billed as
   * output, on top of candidates); cached are prompt tokens served from a
   * context cache (part of prompt, billed at the cache rate). Summed from the
   * results' usageMetadata, read the same way in objects and jsonl output.
   */
  tokens: { prompt: number; candidates: number; thoughts: number; cached: number; total: number };
  /**
   * The same tokens by the model that answered (modelVersion), tier (prompt
   * over 200k) and UTC day: price them with priceTally (src/cost/cost.ts).
   */
  usage?: UsageBucket[];
}

export interface JobEvent {
  chunk: number;
  batchName?: string;
  state: BatchState | 'CREATING' | 'UPLOADING' | 'UPLOADED' | 'RESUBMITTING' | 'BUDGET' | 'COSTED';
  requests: number;
  detail?: string;
  /**
   * With state COSTED (once per chunk whose results are on disk): what its
   * batch cost at batch price, from the results' usageMetadata. `unpriced`
   * counts results whose model has no known price (not in usd).
   */
  cost?: { usd: number; tokens: { prompt: number; cached: number; candidates: number; thoughts: number }; unpriced?: number };
}

export type { BatchState, BatchTask };
