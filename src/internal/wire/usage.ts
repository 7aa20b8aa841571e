/**
 * Token counts of a result, read the same way whatever the output mode: the
 * objects mode hands the parsed response to usageFromResponse, the jsonl
 * mode hands the line's bytes to readUsage, which cuts out the
 * `usageMetadata` object (nested: promptTokensDetails is an array of
 * objects) and goes through the same normaliser.
 */
import { bytesAt, skipSpace, skipString, valueEnd } from './json-bytes.js';

export interface ModalityTokens {
  modality: string;
  tokenCount: number;
}

/** The usageMetadata of one result, every field a number (0 when absent). */
export interface TokenUsage {
  prompt: number;
  /** Visible output tokens (candidatesTokenCount). */
  candidates: number;
  /** Thinking tokens: billed as output, on top of candidates. */
  thoughts: number;
  /** Prompt tokens served from a context cache (part of prompt). */
  cached: number;
  total: number;
  /** Prompt tokens by modality (TEXT, IMAGE, AUDIO, ...), when the service gave them. */
  promptDetails: ModalityTokens[];
  /** The response's modelVersion (the model that answered, e.g. `gemini-3-flash-preview@default`): what it is priced as. */
  modelVersion?: string;
}

const count = (v: unknown): number => {
  const n = typeof v === 'string' ? Number(v) : v; // int64 counters may come as strings
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : 0;
};

/** Normalise a usageMetadata object (camelCase or snake_case); undefined when it is not one. */
export function normaliseUsage(u: unknown): TokenUsage | undefined {
  if (u === null || typeof u !== 'object' || Array.isArray(u)) return undefined;
  const o = u as Record<string, unknown>;
  const details = o.promptTokensDetails ?? o.prompt_tokens_details;
  return {
    prompt: count(o.promptTokenCount ?? o.prompt_token_count),
    candidates: count(o.candidatesTokenCount ?? o.candidates_token_count),
    thoughts: count(o.thoughtsTokenCount ?? o.thoughts_token_count),
    cached: count(o.cachedContentTokenCount ?? o.cached_content_token_count),
    total: count(o.totalTokenCount ?? o.total_token_count),
    promptDetails: Array.isArray(details)
      ? details
          .filter((d): d is Record<string, unknown> => d !== null && typeof d === 'object')
          .map((d) => ({ modality: String(d.modality ?? 'MODALITY_UNSPECIFIED'), tokenCount: count(d.tokenCount ?? d.token_count) }))
      : [],
  };
}

/** Token usage of a parsed GenerateContentResponse (objects mode). */
export function usageFromResponse(response: unknown): TokenUsage | undefined {
  if (response === null || typeof response !== 'object') return undefined;
  const r = response as Record<string, unknown>;
  const u = normaliseUsage(r.usageMetadata ?? r.usage_metadata);
  const version = r.modelVersion ?? r.model_version;
  if (u && typeof version === 'string' && version !== '') u.modelVersion = version;
  return u;
}

const RESPONSE = Buffer.from('"response"');
const USAGE = Buffer.from('"usageMetadata"');
const USAGE_SNAKE = Buffer.from('"usage_metadata"');
const VERSION = Buffer.from('"modelVersion"');
const VERSION_SNAKE = Buffer.from('"model_version"');

/** What one walk over a result line's structure finds (see scanResultLine). */
export interface ResultLineShape {
  /** Index just past the bracket that closes the line's top-level object, -1 when it does not close. */
  end: number;
  /** [usageOpen, usageClose): the `usageMetadata` object of the top-level `response`, or -1, -1. */
  usageOpen: number;
  usageClose: number;
  /** [versionOpen, versionClose): the string of the top-level `response`'s modelVersion (quotes included), or -1, -1. */
  versionOpen: number;
  versionClose: number;
}

/**
 * One walk over a result line's structure (strings jumped over natively, so
 * a megabyte of base64 costs nothing), starting at its opening brace `open`:
 * where the top-level object ends (does the line balance?) and where the
 * `usageMetadata` member of the top-level `response` object is, whatever the
 * order of members. A member of that name nested deeper (in a candidate, a
 * function call) is not it. The demuxer asks both of every success line, so
 * they are answered by one walk, not two.
 */
export function scanResultLine(line: Buffer, open: number): ResultLineShape {
  let depth = 0;
  let inResponse = false;
  let usageOpen = -1;
  let usageClose = -1;
  let versionOpen = -1;
  let versionClose = -1;
  for (let i = open; i < line.length; i++) {
    const c = line[i];
    if (c === 0x22) {
      const end = skipString(line, i);
      if (end === -1) break;
      // A member name at depth 1 or 2 (the only depths we care about): note the top-level
      // one, look for usageMetadata directly in response.
      if (depth <= 2 && line[skipSpace(line, end)] === 0x3a) {
        const n = end - i;
        if (depth === 1) inResponse = n === RESPONSE.length && bytesAt(line, i, RESPONSE);
        else if (inResponse && usageOpen === -1 && (n === USAGE.length ? bytesAt(line, i, USAGE) : n === USAGE_SNAKE.length && bytesAt(line, i, USAGE_SNAKE))) {
          const o = skipSpace(line, end + 1);
          if (line[o] === 0x7b) {
            const close = valueEnd(line, o);
            if (close === -1) break;
            usageOpen = o;
            usageClose = close;
            i = close - 1;
            continue;
          }
        } else if (inResponse && versionOpen === -1 && (n === VERSION.length ? bytesAt(line, i, VERSION) : n === VERSION_SNAKE.length && bytesAt(line, i, VERSION_SNAKE))) {
          const o = skipSpace(line, skipSpace(line, end) + 1);
          if (line[o] === 0x22) {
            const close = skipString(line, o);
            if (close === -1) break;
            versionOpen = o;
            versionClose = close;
            i = close - 1;
            continue;
          }
        }
      }
      i = end - 1;
    } else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      depth--;
      if (depth === 0) return { end: i + 1, usageOpen, usageClose, versionOpen, versionClose };
    }
  }
  return { end: -1, usageOpen, usageClose, versionOpen, versionClose };
}

/** The token usage at a shape's usageMetadata (undefined when there is none or it does not parse). */
export function usageAt(line: Buffer, shape: ResultLineShape): TokenUsage | undefined {
  if (shape.usageOpen === -1) return undefined;
  try {
    const u = normaliseUsage(JSON.parse(line.toString('utf8', shape.usageOpen, shape.usageClose)));
    if (u && shape.versionOpen !== -1) {
      const version = JSON.parse(line.toString('utf8', shape.versionOpen, shape.versionClose)) as string;
      if (version !== '') u.modelVersion = version;
    }
    return u;
  } catch {
    return undefined;
  }
}

/** Token usage of a result line, from its bytes (scanResultLine); undefined when the line has none. */
export function readUsage(line: Buffer): TokenUsage | undefined {
  return usageAt(line, scanResultLine(line, skipSpace(line, 0)));
}

/** Tokens billed as output: visible candidates plus thinking. */
export function outputTokens(u: TokenUsage): number {
  return u.candidates + u.thoughts;
}
