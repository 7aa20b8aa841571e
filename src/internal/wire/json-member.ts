/**
 * Members of a JSON object found on its bytes, without a parse: the walk
 * jumps over strings natively, so a request with megabytes of base64 costs
 * little. For the few members a line's bytes are asked about (the request's
 * `store`, its generationConfig's output limits).
 */
import { COMMA, LBRACE, LBRACKET, QUOTE, RBRACE, skipSpace, skipString, valueEnd } from './json-bytes.js';

/** Index just past the value starting at `v`, or -1. */
function skipValue(buf: Buffer, v: number): number {
  const c = buf[v];
  if (c === QUOTE) return skipString(buf, v);
  if (c === LBRACE || c === LBRACKET) return valueEnd(buf, v);
  let i = v;
  while (i < buf.length && buf[i] !== COMMA && buf[i] !== RBRACE && buf[i] !== 0x5d) i++;
  return i < buf.length ? i : -1;
}

/**
 * Index of the value of member `name` (either of `names`) of the object
 * opening at `open`, at its own level only; -1 when it has none or the
 * bytes do not walk.
 */
export function memberValue(buf: Buffer, open: number, ...names: string[]): number {
  if (buf[open] !== LBRACE) return -1;
  const wanted = names.map((n) => Buffer.from(JSON.stringify(n)));
  let i = skipSpace(buf, open + 1);
  while (i < buf.length && buf[i] === QUOTE) {
    const end = skipString(buf, i);
    if (end === -1) return -1;
    const nameLen = end - i;
    const hit = wanted.some((w) => w.length === nameLen && buf.compare(w, 0, w.length, i, end) === 0);
    const colon = skipSpace(buf, end);
    if (buf[colon] !== 0x3a) return -1;
    const v = skipSpace(buf, colon + 1);
    if (hit) return v;
    const after = skipValue(buf, v);
    if (after === -1) return -1;
    i = skipSpace(buf, after);
    if (buf[i] !== COMMA) return -1;
    i = skipSpace(buf, i + 1);
  }
  return -1;
}

/** The number at `v` (a JSON number or a numeric string), or undefined. */
export function numberAt(buf: Buffer, v: number): number | undefined {
  if (v < 0) return undefined;
  const end = skipValue(buf, v);
  if (end === -1) return undefined;
  let text = buf.toString('latin1', v, end).trim();
  if (text.startsWith('"')) text = text.slice(1, -1);
  const n = Number(text);
  return text !== '' && Number.isFinite(n) ? n : undefined;
}

/** The value of the top-level `request` member of a wire line, -1 when absent. */
export function requestOpen(line: Buffer): number {
  return memberValue(line, skipSpace(line, 0), 'request');
}
