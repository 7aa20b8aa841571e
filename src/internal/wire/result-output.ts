/**
 * One result line → the record's result, in either output mode, with its
 * error (status named) and token usage read the same way in both. In jsonl
 * mode a success line of a generate batch is rekeyed by slicing, with no
 * parse, whatever its field order; every other line is parsed once.
 */
import type { BatchTask, GenerateContentResponse, KeyedResult, ResultError } from '../../types.js';
import { isSuccessLine, rekeyResultLine, type ParsedWireKey } from './result-line.js';
import { toResultError } from './result-error.js';
import { skipSpace } from './json-bytes.js';
import { scanResultLine, usageAt, usageFromResponse, type TokenUsage } from './usage.js';

interface RawResultLine {
  response?: Record<string, unknown> & { embedding?: { values?: unknown } };
  error?: unknown;
  status?: unknown;
}

/** A parsed result line → KeyedResult (embeddings as their values, errors with their status named). */
export function keyedResult(userKey: string, parsed: unknown, task: BatchTask): KeyedResult {
  const line = (parsed !== null && typeof parsed === 'object' ? parsed : {}) as RawResultLine;
  if (line.response !== undefined && line.response !== null) {
    if (task === 'embed') {
      const values = line.response.embedding?.values;
      if (Array.isArray(values)) return { key: userKey, embedding: values as number[] };
    }
    // The service's JSON, passed on as it came: typed for readers, not checked field by field.
    return { key: userKey, response: line.response as GenerateContentResponse };
  }
  return { key: userKey, error: toResultError(line.error ?? line.status) };
}

export interface ResultOutput<T> {
  value: T;
  /** Set for an error result. */
  error?: ResultError;
  /** Token usage of a response that carried usageMetadata. */
  usage?: TokenUsage;
}

function outcome<T>(value: T, r: KeyedResult): ResultOutput<T> {
  const out: ResultOutput<T> = { value };
  if ('error' in r) out.error = r.error;
  else if ('response' in r) {
    const u = usageFromResponse(r.response);
    if (u) out.usage = u;
  }
  return out;
}

/** Objects mode: the KeyedResult of a result line (one parse). */
export function objectResult(line: Buffer, key: ParsedWireKey, task: BatchTask): ResultOutput<KeyedResult> {
  const r = keyedResult(key.userKey, parseLine(line), task);
  return outcome(r, r);
}

/** Jsonl mode: the output line of a result line; a generate success line by slicing alone. */
export function jsonlResult(line: Buffer, key: ParsedWireKey, task: BatchTask): ResultOutput<Buffer> {
  if (task !== 'embed' && key.at !== 'parsed' && isSuccessLine(line, key)) {
    // One walk says both whether the line balances and where its usage is.
    const shape = scanResultLine(line, skipSpace(line, 0));
    const bytes = rekeyResultLine(line, key, shape.end);
    if (bytes) {
      const out: ResultOutput<Buffer> = { value: bytes };
      const u = usageAt(line, shape);
      if (u) out.usage = u;
      return out;
    }
  }
  const r = keyedResult(key.userKey, parseLine(line), task);
  return outcome(Buffer.from(`${JSON.stringify(r)}\n`), r);
}

/** A line that does not parse is an error result, not a crash (the service wrote garbage). */
function parseLine(line: Buffer): unknown {
  try {
    return JSON.parse(line.toString('utf8'));
  } catch {
    return { error: { code: 13, message: 'the service returned a result line that is not JSON' } };
  }
}
