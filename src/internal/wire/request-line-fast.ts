/**
 * The usual request line, `{"key":"k","request":{...}}` or `{"request":{...}}`
 * with a compact head, checked on its bytes and sent as it is: the request's
 * member names against GenerateContentRequest's, `contents` a non-empty
 * array, every value valid JSON (jsonValueEnd), nothing parsed (issue 12:
 * JSON.parse was most of stage 1's cost). Anything else, and anything wrong,
 * is left to the parsing path, which also writes the error messages.
 */
import { bytesAt, plainStringEnd, skipSpaceBack, skipSpaceTo } from './json-bytes.js';
import { jsonValueEnd } from './json-validate.js';
import { generateFieldName } from './request-fields.js';

const KEY_HEAD = Buffer.from('{"key":"');
const REQUEST_AFTER_KEY = Buffer.from(',"request":');
const REQUEST_HEAD = Buffer.from('{"request":');
const MODALITIES = [Buffer.from('"responseModalities"'), Buffer.from('"response_modalities"')];

function hasModalities(b: Buffer, from: number, to: number): boolean {
  const span = b.subarray(from, to);
  for (const m of MODALITIES) if (span.indexOf(m) !== -1) return true;
  return false;
}

/**
 * head (ASCII) + raw[from, to) + newline, in one allocation; `tail` (ASCII),
 * when given, goes in at `at` (the request's closing brace).
 */
function spliced(head: string, raw: Buffer, from: number, to: number, at = to, tail = ''): Buffer {
  const out = Buffer.allocUnsafe(head.length + (to - from) + tail.length + 1);
  for (let i = 0; i < head.length; i++) out[i] = head.charCodeAt(i);
  let o = head.length + raw.copy(out, head.length, from, at);
  for (let i = 0; i < tail.length; i++) out[o++] = tail.charCodeAt(i);
  raw.copy(out, o, at, to);
  out[out.length - 1] = 0x0a;
  return out;
}
/** End index just past the request object at `open` when every check passes (its member names, canonical, into `seen`), else -1. */
function checkedRequestEnd(b: Buffer, open: number, end: number, seen: Set<string>): number {
  if (b[open] !== 0x7b) return -1;
  let i = skipSpaceTo(b, open + 1, end);
  for (;;) {
    if (b[i] !== 0x22) return -1;
    const nameEnd = plainStringEnd(b, i, end);
    if (nameEnd === -1) return -1;
    const field = generateFieldName(b.toString('latin1', i + 1, nameEnd - 1));
    if (field === undefined || seen.has(field)) return -1;
    seen.add(field);
    i = skipSpaceTo(b, nameEnd, end);
    if (b[i] !== 0x3a) return -1;
    const v = skipSpaceTo(b, i + 1, end);
    if (field === 'contents' && (b[v] !== 0x5b || b[skipSpaceTo(b, v + 1, end)] === 0x5d)) return -1;
    const ve = jsonValueEnd(b, v, end);
    if (ve < 0) return -1;
    // Image requests go the parsing way: it sets RequestLine.imageOutput.
    if (field === 'generationConfig' && hasModalities(b, v, ve)) return -1;
    i = skipSpaceTo(b, ve, end);
    if (b[i] === 0x2c) i = skipSpaceTo(b, i + 1, end);
    else if (b[i] === 0x7d) return seen.has('contents') ? i + 1 : -1;
    else return -1;
  }
}

export interface FastRequestLine {
  key: string;
  line: Buffer;
  /** The request's member names, canonical (camelCase): what a backend's codec asks about without searching the bytes. */
  fields: ReadonlySet<string>;
  /** Whether the line already holds the backend's request tail (RequestTail). */
  tailed: boolean;
}

/** Members a backend appends inside every request (see WireCodec.requestTail), given the seq and the request's member names. */
export interface RequestTail {
  requestTail?(seq: number, fields: ReadonlySet<string>): string | undefined;
}

/**
 * The wire line and key of a raw generate request line of the usual shape
 * that passes every check, without parsing it; undefined otherwise (the
 * caller parses, and explains what is wrong). The caller has checked UTF-8.
 */
export function fastRequestLine(raw: Buffer, seq: number, backend?: RequestTail): FastRequestLine | undefined {
  const fields = new Set<string>();
  let end = raw.length;
  end = skipSpaceBack(raw, end - 1) + 1;
  if (raw[end - 1] !== 0x7d) return undefined;
  if (bytesAt(raw, 0, KEY_HEAD)) {
    const keyEnd = plainStringEnd(raw, KEY_HEAD.length - 1, end);
    if (keyEnd === -1 || !bytesAt(raw, keyEnd, REQUEST_AFTER_KEY)) return undefined;
    const reqEnd = checkedRequestEnd(raw, keyEnd + REQUEST_AFTER_KEY.length, end, fields);
    if (reqEnd === -1 || skipSpaceTo(raw, reqEnd, end) !== end - 1) return undefined;
    const tail = backend?.requestTail?.(seq, fields);
    const line = spliced(`{"key":"${seq}:`, raw, KEY_HEAD.length, end, reqEnd - 1, tail);
    return { key: raw.toString('utf8', KEY_HEAD.length, keyEnd - 1), line, fields, tailed: tail !== undefined };
  }
  if (bytesAt(raw, 0, REQUEST_HEAD)) {
    const reqEnd = checkedRequestEnd(raw, REQUEST_HEAD.length, end, fields);
    if (reqEnd === -1 || skipSpaceTo(raw, reqEnd, end) !== end - 1) return undefined;
    const tail = backend?.requestTail?.(seq, fields);
    return { key: String(seq), line: spliced(`{"key":"${seq}:${seq}",`, raw, 1, end, reqEnd - 1, tail), fields, tailed: tail !== undefined };
  }
  return undefined;
}
