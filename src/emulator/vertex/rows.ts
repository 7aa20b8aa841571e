/**
 * One input line to one output row, as Vertex writes them:
 * `{"status":"","processed_time":"…","request":{…},"response":{…}}`. The
 * request is echoed re-serialised (snake_case field names, its own key order;
 * map keys such as labels and schema property names left alone), not as sent.
 * A failed row has a free-text `status` and no `response`. Other top-level
 * fields of the line (a `key`) are echoed only with vertexEchoTopLevelFields.
 */
import { answerRequest, GRPC_INVALID_ARGUMENT, type RequestError } from '../answer.js';
import type { Context } from '../context.js';
import { isRecord } from '../wire.js';

/** Field names repeat on every row: converted once each (a bounded cache, field names are few). */
const snakeCache = new Map<string, string>();
function snake(s: string): string {
  let v = snakeCache.get(s);
  if (v === undefined) {
    v = s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    if (snakeCache.size < 4096) snakeCache.set(s, v);
  }
  return v;
}

/** Fields whose value is a map (keys are data, values are messages). */
const MAPS = new Set(['labels', 'properties']);
/** Fields whose value is free JSON (a Struct): nothing inside is renamed. */
const RAW = new Set(['args', 'response', 'response_json_schema', 'parameters_json_schema', 'struct_value', 'default']);

function reserialise(v: unknown, mode: 'message' | 'map'): unknown {
  if (Array.isArray(v)) return v.map((x) => reserialise(x, mode === 'map' ? 'message' : mode));
  if (!isRecord(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (mode === 'map') {
      out[k] = reserialise(x, 'message');
      continue;
    }
    const name = snake(k);
    out[name] = RAW.has(name) ? x : reserialise(x, MAPS.has(name) ? 'map' : 'message');
  }
  return out;
}

/**
 * Whether reserialise would rename a field anywhere in `v`; when not, `v` is
 * its own echo and is not copied (most requests are contents of role, parts
 * and text: a deep copy of each was a sixth of the emulator's Vertex CPU).
 */
function renames(v: unknown, mode: 'message' | 'map'): boolean {
  if (Array.isArray(v)) return v.some((x) => renames(x, mode === 'map' ? 'message' : mode));
  if (!isRecord(v)) return false;
  for (const k in v) {
    const x = v[k];
    if (mode === 'map') {
      if (renames(x, 'message')) return true;
      continue;
    }
    const name = snake(k);
    if (name !== k) return true;
    if (!RAW.has(name) && renames(x, MAPS.has(name) ? 'map' : 'message')) return true;
  }
  return false;
}

/** The echoed request: snake_case, top-level fields in name order. */
export function echoRequest(request: Record<string, unknown>): Record<string, unknown> {
  const r = renames(request, 'message') ? (reserialise(request, 'message') as Record<string, unknown>) : request;
  const keys = Object.keys(r);
  // Most requests already list their fields in name order (contents, generationConfig, labels): no copy then.
  if (inOrder(keys)) return r;
  const out: Record<string, unknown> = {};
  for (const k of keys.sort()) out[k] = r[k];
  return out;
}

function inOrder(keys: string[]): boolean {
  for (let i = 1; i < keys.length; i++) if (keys[i - 1]! > keys[i]!) return false;
  return true;
}

/** What Vertex refuses that the Developer API takes: explicit caches, `store`, Files API URIs. */
export function vertexRefusal(request: Record<string, unknown>): string | undefined {
  if (request.cachedContent !== undefined || request.cached_content !== undefined) {
    return 'cachedContent is not supported in batch prediction.';
  }
  if (request.store !== undefined) return 'Invalid JSON payload received. Unknown name "store": Cannot find field.';
  if (hasFilesApiUri(request.contents)) return 'Files API URIs (files/…) are not supported; use a gs:// or https:// URI.';
  return undefined;
}

function hasFilesApiUri(contents: unknown): boolean {
  if (!Array.isArray(contents)) return false;
  for (const c of contents) {
    const parts = isRecord(c) ? c.parts : undefined;
    if (!Array.isArray(parts)) continue;
    for (const p of parts) {
      const fd = isRecord(p) ? (p.fileData ?? p.file_data) : undefined;
      const uri = isRecord(fd) ? (fd.fileUri ?? fd.file_uri) : undefined;
      if (typeof uri === 'string' && uri.startsWith('files/')) return true;
    }
  }
  return false;
}

const HTTP_OF: Record<number, [number, string]> = {
  3: [400, 'INVALID_ARGUMENT'],
  4: [504, 'DEADLINE_EXCEEDED'],
  8: [429, 'RESOURCE_EXHAUSTED'],
  13: [500, 'INTERNAL'],
  14: [503, 'UNAVAILABLE'],
};

/** The free-text status of a failed row, with the underlying error as embedded JSON, as the service writes it. */
export function statusText(e: RequestError): string {
  const [code, status] = HTTP_OF[e.code] ?? [500, e.status ?? 'INTERNAL'];
  const inner = JSON.stringify({ error: { code, message: e.message, status } });
  return code === 400 ? `Bad Request: ${inner}` : `Internal error occurred. Failed to get generateContentResponse: ${inner}`;
}

/** 2024-11-01T18:13:16.826+00:00, the service's processed_time format. */
let lastMs = NaN;
let lastText = '';
export function processedTime(ms: number): string {
  // Thousands of rows share a millisecond: format it once.
  if (ms !== lastMs) {
    lastMs = ms;
    lastText = new Date(ms).toISOString().replace('Z', '+00:00');
  }
  return lastText;
}

export interface RowJob {
  modelId: string;
}

export function answerRow(ctx: Context, job: RowJob, lineNo: number, text: string): { line: string; ok: boolean } {
  const t = processedTime(ctx.now());
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    const status = statusText({ code: GRPC_INVALID_ARGUMENT, message: `line ${lineNo}: not valid JSON (${(err as Error).message})` });
    return { line: JSON.stringify({ status, processed_time: t, request: {} }), ok: false };
  }
  const head: Record<string, unknown> = {};
  if (isRecord(parsed) && ctx.options.vertexEchoTopLevelFields) {
    for (const [k, v] of Object.entries(parsed)) if (k !== 'request') head[k] = v;
  }
  const request = isRecord(parsed) ? parsed.request : undefined;
  if (!isRecord(request)) {
    const status = statusText({ code: GRPC_INVALID_ARGUMENT, message: `line ${lineNo}: "request" must be a JSON object` });
    return { line: JSON.stringify({ ...head, status, processed_time: t, request: {} }), ok: false };
  }
  const echo = echoRequest(request);
  const refused = vertexRefusal(request);
  const key = isRecord(parsed) && (typeof parsed.key === 'string' || typeof parsed.key === 'number') ? String(parsed.key) : String(lineNo);
  const r = refused
    ? { error: { code: GRPC_INVALID_ARGUMENT, message: refused } }
    : answerRequest(ctx, 'generate', `models/${job.modelId}`, key, request);
  if (r.error) return { line: JSON.stringify({ ...head, status: statusText(r.error), processed_time: t, request: echo }), ok: false };
  return { line: JSON.stringify({ ...head, status: '', processed_time: t, request: echo, response: vertexResponse(r.response) }), ok: true };
}

/** Vertex names the serving version: `gemini-2.5-flash@default`. */
function vertexResponse(response: unknown): unknown {
  if (!isRecord(response) || typeof response.modelVersion !== 'string' || response.modelVersion.includes('@')) return response;
  return { ...response, modelVersion: `${response.modelVersion}@default` };
}
