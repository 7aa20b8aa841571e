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

const LABELS = Buffer.from('"labels"');
/** A Files API URI as a JSON string value starts. */
const FILES_URI = Buffer.from('"files/');

const isSpace = (c: number | undefined) => c === 0x20 || c === 0x09 || c === NEWLINE || c === CR;

function lastNonSpace(b: Buffer, from: number): number {
  let i = from;
  while (i >= 0 && isSpace(b[i])) i--;
  return i;
}

/**
 * The line with the seq label in its request, by splicing bytes; undefined
 * when the shape is not the plain one. `fields`: the request's member names
 * when stage 1 knows them (else the line is searched for `"labels"`).
 */
function splice(line: Buffer, seq: number, fields?: ReadonlySet<string>): Buffer | undefined {
  const outer = lastNonSpace(line, line.length - 1);
  if (line[outer] !== CLOSE) return undefined;
  const inner = lastNonSpace(line, outer - 1);
  if (line[inner] !== CLOSE) return undefined;
  // A request that already has labels (the user's own) is merged by a parse instead.
  if (fields ? fields.has('labels') : line.includes(LABELS)) return undefined;
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

export function encodeLine(line: Buffer, seq: number, fields?: ReadonlySet<string>): Buffer {
  const fast = splice(line, seq, fields);
  if (fast) return fast;
  const parsed = JSON.parse(line.toString('utf8')) as { key: unknown; request: Record<string, unknown> };
  const labels = { ...(parsed.request.labels as Record<string, string> | undefined), gbs_seq: String(seq) };
  return Buffer.from(`${JSON.stringify({ key: parsed.key, request: { ...parsed.request, labels } })}\n`);
}

/**
 * Whether a Files API URI (`files/…`) is the `fileUri` of any part, at any
 * depth: a walk of the objects (a JSON.stringify of every request's contents
 * was a third of the library's extra CPU on this backend).
 */
function hasFilesUri(v: unknown, depth = 0): boolean {
  if (v === null || typeof v !== 'object' || depth > 64) return false;
  // Plain loops: Object.entries and some() allocated per object, for every record the library takes.
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (hasFilesUri(v[i], depth + 1)) return true;
    return false;
  }
  const o = v as Record<string, unknown>;
  for (const k in o) {
    // Own members only, as the request is serialised (JSON.stringify).
    if (!Object.hasOwn(o, k)) continue;
    const x = o[k];
    if (typeof x === 'string') {
      if ((k === 'fileUri' || k === 'file_uri') && x.startsWith('files/')) return true;
    } else if (typeof x === 'object' && hasFilesUri(x, depth + 1)) return true;
  }
  return false;
}

/** Why Vertex batch would refuse this request (one sentence), or undefined. */
export function refuse(request: Record<string, unknown>): string | undefined {
  const found: string[] = [];
  if (request.cachedContent !== undefined || request.cached_content !== undefined) found.push('cachedContent');
  if (request.store !== undefined) found.push('store');
  if (hasFilesUri(request.contents)) found.push('a Files API URI (files/…)');
  if (found.length === 0) return undefined;
  return `Vertex AI batch does not take ${found.join(', ')} (explicit caches, store and Files API URIs are Developer API features): leave them out and give media as gs:// or https:// URIs`;
}

/**
 * Whether a raw line may hold something refuse() refuses: a refused member
 * among the request's (stage 1 read their names) or a string starting
 * `files/` anywhere (one byte search; false lets the line skip the parse).
 */
export function suspect(raw: Buffer, fields: ReadonlySet<string>): boolean {
  return fields.has('cachedContent') || fields.has('store') || raw.includes(FILES_URI);
}

/** The seq label as text for stage 1 to write inside a raw request (it has contents, so a comma leads); a request with labels of its own is merged by encodeLine. */
export function requestTail(seq: number, fields: ReadonlySet<string>): string | undefined {
  return fields.has('labels') ? undefined : `,"labels":{"gbs_seq":"${seq}"}`;
}

export const vertexWire: WireCodec = { encodeLine, refuse, suspect, requestTail };
