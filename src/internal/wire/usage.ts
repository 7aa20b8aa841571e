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
  return normaliseUsage(r.usageMetadata ?? r.usage_metadata);
}

const RESPONSE = Buffer.from('"response"');
const USAGE_NAMES = [Buffer.from('"usageMetadata"'), Buffer.from('"usage_metadata"')];

/**
 * Token usage of a result line, from its bytes: a walk over the line's
 * structure (strings jumped over natively, so a megabyte of base64 costs
 * nothing) finds the `usageMetadata` member of the top-level `response`
 * object, whatever the order of members; that object alone is parsed.
 * A member of that name nested deeper (in a candidate, a function call) is
 * not it. Undefined when the line has none.
 */
export function readUsage(line: Buffer): TokenUsage | undefined {
  let depth = 0;
  let inResponse = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === 0x22) {
      const end = skipString(line, i);
      if (end === -1) return undefined;
      const colon = skipSpace(line, end);
      if (line[colon] === 0x3a) {
        // A member name: note the top-level one, look for usageMetadata directly in response.
        if (depth === 1) inResponse = end - i === RESPONSE.length && bytesAt(line, i, RESPONSE);
        else if (depth === 2 && inResponse && USAGE_NAMES.some((n) => end - i === n.length && bytesAt(line, i, n))) {
          const open = skipSpace(line, colon + 1);
          if (line[open] !== 0x7b) return undefined;
          const close = valueEnd(line, open);
          if (close === -1) return undefined;
          try {
            return normaliseUsage(JSON.parse(line.toString('utf8', open, close)));
          } catch {
            return undefined;
          }
        }
      }
      i = end - 1;
    } else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return undefined;
}

/** Tokens billed as output: visible candidates plus thinking. */
export function outputTokens(u: TokenUsage): number {
  return u.candidates + u.thoughts;
}
