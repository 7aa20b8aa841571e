/**
 * Vertex's request lines. The canonical line `{"key":"<seq>:<key>","request":{…}}`
 * gains a request label that carries the seq, `"labels":{"gbs_seq":"<seq>"}`,
 * spliced into the request's bytes (the key stays first, so readLineKey still
 * reads spool lines): the service echoes the request with every output row
 * (re-serialised, snake_case) but is not documented to echo a top-level key,
 * so the label is what keys a row in the worst case. Requests Vertex batch
 * refuses (explicit caches, `store`, Files API URIs) are invalid records here.
 */
import type { WireCodec } from '../../backend/types.js';

const NEWLINE = 0x0a;
const CR = 0x0d;
const CLOSE = 0x7d;
const OPEN = 0x7b;

const isSpace = (c: number | undefined) => c === 0x20 || c === 0x09 || c === NEWLINE || c === CR;

function lastNonSpace(b: Buffer, from: number): number {
  let i = from;
  while (i >= 0 && isSpace(b[i])) i--;
  return i;
}

/** The line with the seq label in its request, by splicing bytes; undefined when the shape is not the plain one. */
function splice(line: Buffer, seq: number): Buffer | undefined {
  const outer = lastNonSpace(line, line.length - 1);
  if (line[outer] !== CLOSE) return undefined;
  const inner = lastNonSpace(line, outer - 1);
  if (line[inner] !== CLOSE) return undefined;
  // A request that already has labels (the user's own) is merged by a parse instead.
  if (line.includes('"labels"')) return undefined;
  const empty = line[lastNonSpace(line, inner - 1)] === OPEN;
  // One buffer per line, written in place (a label Buffer and a concat per line were stage 1's extra garbage).
  const label = `${empty ? '' : ','}"labels":{"gbs_seq":"${seq}"}`;
  const out = Buffer.allocUnsafe(inner + label.length + (outer + 1 - inner) + 1);
  let at = line.copy(out, 0, 0, inner);
  at += out.write(label, at, 'latin1');
  at += line.copy(out, at, inner, outer + 1);
  out[at] = NEWLINE;
  return out;
}

export function encodeLine(line: Buffer, seq: number): Buffer {
  const fast = splice(line, seq);
  if (fast) return fast;
  const parsed = JSON.parse(line.toString('utf8')) as { key: unknown; request: Record<string, unknown> };
  const labels = { ...(parsed.request.labels as Record<string, string> | undefined), gbs_seq: String(seq) };
  return Buffer.from(`${JSON.stringify({ key: parsed.key, request: { ...parsed.request, labels } })}\n`);
}

/** Why Vertex batch would refuse this request (one sentence), or undefined. */
export function refuse(request: Record<string, unknown>): string | undefined {
  const found: string[] = [];
  if (request.cachedContent !== undefined || request.cached_content !== undefined) found.push('cachedContent');
  if (request.store !== undefined) found.push('store');
  if (/"(?:fileUri|file_uri)"\s*:\s*"files\//.test(JSON.stringify(request.contents ?? null))) found.push('a Files API URI (files/…)');
  if (found.length === 0) return undefined;
  return `Vertex AI batch does not take ${found.join(', ')} (explicit caches, store and Files API URIs are Developer API features): leave them out and give media as gs:// or https:// URIs`;
}

const SUSPECTS = ['cachedContent', 'cached_content', '"store"', '"files/'].map((s) => Buffer.from(s));

/** Whether a raw line may hold something refuse() refuses (a byte search; false lets it skip the parse). */
export function suspect(raw: Buffer): boolean {
  return SUSPECTS.some((s) => raw.includes(s));
}

export const vertexWire: WireCodec = { encodeLine, refuse, suspect };
