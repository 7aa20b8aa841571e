/**
 * The default responder: deterministic (same request, same answer), cheap
 * enough for ~2M lines per job (FNV-1a, no crypto per line).
 */
import { embeddingDimensions } from './models.js';
import { mulberry32 } from './prng.js';
import { unknownNameMessage, unknownRequestField } from './request-fields.js';
import type { EmulatorRequestContext, Responder } from './types.js';
import { isRecord } from './wire.js';

/** FNV-1a 32-bit over UTF-16 code units: fast, and stable across runs. */
export function fnv1a(text: string, seed = 0x811c9dc5): number {
  let h = seed;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function partsText(content: unknown): string {
  if (!isRecord(content) || !Array.isArray(content.parts)) return '';
  let s = '';
  for (const p of content.parts) if (isRecord(p) && typeof p.text === 'string') s += p.text;
  return s;
}

/** All text of a request (contents and system instruction), what the hash covers. */
function allText(request: Record<string, unknown>): { all: string; lastUser: string } {
  let all = '';
  let lastUser = '';
  const contents = request.contents;
  const list = Array.isArray(contents) ? contents : contents !== undefined ? [contents] : [];
  for (const c of list) {
    const t = partsText(c);
    all += t;
    if (!isRecord(c) || c.role === undefined || c.role === 'user') lastUser = t;
  }
  const sys = request.systemInstruction ?? request.system_instruction;
  if (sys !== undefined) all += partsText(sys);
  return { all, lastUser };
}

/**
 * Tokens of a text as this emulator counts them, close to how real tokenizers
 * behave: one per CJK, kana or Hangul character (those scripts cost about a
 * token per character), one per 4 other UTF-16 code units; at least 1.
 */
export function countTokens(text: string): number {
  let wide = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x3000 && ((c <= 0x9fff) || (c >= 0xac00 && c <= 0xd7af) || (c >= 0xf900 && c <= 0xfaff) || (c >= 0xff00 && c <= 0xffef))) wide++;
  }
  return Math.max(1, wide + Math.ceil((text.length - wide) / 4));
}

const IMAGE_BYTES = 768 * 1024; // ~1 MB once base64-encoded
const imageCache = new Map<number, string>();

/** A ~1 MB base64 PNG-ish payload; 16 variants cached so image jobs do not regenerate megabytes per line. */
function imageData(hash: number): string {
  const slot = hash & 0xf;
  let data = imageCache.get(slot);
  if (data === undefined) {
    const rng = mulberry32(slot + 1);
    const words = new Uint32Array(IMAGE_BYTES / 4);
    for (let i = 0; i < words.length; i++) words[i] = Math.floor(rng() * 0x100000000);
    const buf = Buffer.from(words.buffer);
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(buf);
    data = buf.toString('base64');
    imageCache.set(slot, data);
  }
  return data;
}

function wantsImage(request: Record<string, unknown>): boolean {
  const gc = request.generationConfig ?? request.generation_config;
  if (!isRecord(gc)) return false;
  const m = gc.responseModalities ?? gc.response_modalities;
  return Array.isArray(m) && m.some((x) => typeof x === 'string' && x.toUpperCase() === 'IMAGE');
}

/** Models that think by default (2.5 Flash-Lite does not): their answers carry thoughtsTokenCount. */
function thinks(model: string, request: Record<string, unknown>): boolean {
  const gc = request.generationConfig ?? request.generation_config;
  const tc = isRecord(gc) ? (gc.thinkingConfig ?? gc.thinking_config) : undefined;
  const budget = isRecord(tc) ? (tc.thinkingBudget ?? tc.thinking_budget) : undefined;
  if (budget === 0) return false;
  return /gemini-(2\.5|3)/.test(model) && !/flash-lite/.test(model);
}

/** Tokens served from a cache (cachedContent set): counted in promptTokenCount too, as the service does. */
function cachedTokens(request: Record<string, unknown>): number {
  const name = request.cachedContent ?? request.cached_content;
  return typeof name === 'string' && name !== '' ? 1024 + (fnv1a(name) % 1024) : 0;
}

/**
 * Prompt tokens of a request as this responder counts them: countTokens of all
 * text (contents and system instruction), plus cached tokens.
 * The enqueued-token quota counts batches with this same function.
 */
export function promptTokens(task: 'generate' | 'embed', request: unknown): number {
  if (!isRecord(request)) return 0;
  if (task === 'embed') return countTokens(embedText(request));
  return countTokens(allText(request).all) + cachedTokens(request);
}

function generate(request: Record<string, unknown>, ctx: EmulatorRequestContext): { response: unknown } {
  const { all, lastUser } = allText(request);
  const hash = fnv1a(all);
  const text = `echo: ${lastUser.slice(0, 40)} #${hash.toString(16).padStart(8, '0')}`;
  const parts: unknown[] = [{ text }];
  if (wantsImage(request)) parts.push({ inlineData: { mimeType: 'image/png', data: imageData(hash) } });
  const cached = cachedTokens(request);
  const textTokens = countTokens(all);
  const promptTokenCount = textTokens + cached;
  const candidatesTokenCount = countTokens(text);
  const thoughtsTokenCount = thinks(ctx.model, request) ? 16 + (hash % 48) : 0;
  // Like the service: int32 counts as numbers, zero counts left out.
  const usageMetadata: Record<string, unknown> = { promptTokenCount, candidatesTokenCount };
  if (thoughtsTokenCount > 0) usageMetadata.thoughtsTokenCount = thoughtsTokenCount;
  if (cached > 0) usageMetadata.cachedContentTokenCount = cached;
  usageMetadata.totalTokenCount = promptTokenCount + candidatesTokenCount + thoughtsTokenCount;
  usageMetadata.promptTokensDetails = [{ modality: 'TEXT', tokenCount: promptTokenCount }];
  if (cached > 0) usageMetadata.cacheTokensDetails = [{ modality: 'TEXT', tokenCount: cached }];
  return {
    response: {
      candidates: [{ content: { role: 'model', parts }, finishReason: 'STOP', index: 0 }],
      usageMetadata,
      modelVersion: ctx.model.replace(/^models\//, ''),
      responseId: hash.toString(36) + (hash >>> 7).toString(36),
    },
  };
}

function embedText(request: Record<string, unknown>): string {
  const content = request.content;
  return Array.isArray(content) ? content.map(partsText).join('') : partsText(content);
}

function embed(request: Record<string, unknown>, model: string): { response: unknown } {
  const text = embedText(request);
  const dims = embeddingDimensions(model, request.outputDimensionality ?? request.output_dimensionality);
  const rng = mulberry32(fnv1a(text));
  const values = new Array<number>(dims);
  let norm = 0;
  for (let i = 0; i < dims; i++) {
    const v = rng() * 2 - 1;
    values[i] = v;
    norm += v * v;
  }
  // Unit length, like real embedding models, so cosine tests behave.
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 1;
  for (let i = 0; i < dims; i++) values[i] = Math.round(values[i]! * scale * 1e6) / 1e6;
  return { response: { embedding: { values }, tokenCount: String(countTokens(text)) } };
}

export const defaultResponder: Responder = (request, ctx) =>
  ctx.task === 'embed' ? embed(request, ctx.model) : generate(request, ctx);

/**
 * Why a request cannot be answered, or undefined when it can. Strict like the
 * service: a field the request message does not have is refused (gRPC 3).
 */
export function requestProblem(task: 'generate' | 'embed', request: unknown): string | undefined {
  if (!isRecord(request)) return '"request" must be a JSON object';
  const unknown = unknownRequestField(task, request);
  if (unknown !== undefined) return unknownNameMessage(unknown[0], unknown[1] ? `request.${unknown[1]}` : 'request');
  if (task === 'embed') {
    return request.content !== undefined ? undefined : 'request.content is required for an embedding request';
  }
  const c = request.contents;
  if (!Array.isArray(c) || c.length === 0) return 'request.contents must be a non-empty array';
  return undefined;
}
