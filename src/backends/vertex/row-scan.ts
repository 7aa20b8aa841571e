/**
 * A Vertex output row `{"status":"","processed_time":"…","request":{…},"response":{…}}`
 * read on its bytes, without a parse: where its top-level `key`, `status`,
 * `request` and `response` values sit, and the echoed request's
 * `labels.gbs_seq`. Strings are jumped over natively (a megabyte of base64
 * costs an indexOf), so a row costs one walk of its frame instead of a
 * JSON.parse of the row and a JSON.stringify of its answer (which were most
 * of the Vertex fetch's CPU). A row of any shape this walk does not take
 * (nested garbage, a member name with escapes) is undefined: the caller
 * parses it then.
 */
import { BACKSLASH, COLON, COMMA, LBRACE, LBRACKET, QUOTE, RBRACE, RBRACKET, skipSpace, skipSpaceBack, skipSpaceTo, skipString, stringEnd, valueEnd } from '../../internal/wire/json-bytes.js';

/** Where a value sits: [start, end) of its bytes; start -1 when the member is absent. */
export interface Span {
  start: number;
  end: number;
}

export interface RowShape {
  key: Span;
  /** Whether the key string holds an escape (then it is decoded by JSON.parse). */
  keyEscaped: boolean;
  status: Span;
  statusEscaped: boolean;
  request: Span;
  /** The echoed request's `labels` value, found in the same walk (start -1 when absent or unreadable). */
  labels: Span;
  response: Span;
}

const NAMES = ['key', 'status', 'request', 'response'].map((n) => Buffer.from(JSON.stringify(n)));
const KEY = 0;
const STATUS = 1;
const REQUEST = 2;
const RESPONSE = 3;
const LABELS = [Buffer.from('"labels"')];
const GBS_SEQ = [Buffer.from('"gbs_seq"')];

/** Index just past the scalar (number, true, false, null) at v: up to the next `,` `}` `]` or space. */
function scalarEnd(b: Buffer, v: number, end: number): number {
  let i = v;
  while (i < end) {
    const c = b[i]!;
    if (c === COMMA || c === RBRACE || c === RBRACKET || c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) break;
    i++;
  }
  return i > v ? i : -1;
}

/** Whether the name `name` (quotes included) sits at b[i..]: a byte loop (names are a few bytes; a native compare's call cost more). */
function nameAt(b: Buffer, i: number, name: Buffer): boolean {
  for (let k = 1; k < name.length; k++) if (b[i + k] !== name[k]) return false;
  return true;
}

/** A member whose object value is walked in the same pass, for the spans of its own members. */
export interface Into {
  /** Index in `wanted` of the member to walk into. */
  at: number;
  wanted: Buffer[];
  spans: Span[];
}

/**
 * Walk the members of the object opening at `open` (its own level only): for
 * each name of `wanted` the span of its value (the last one when a name
 * repeats, as JSON.parse keeps), written into `spans`; the object value of
 * `into.at`, if any, is walked for its own members on the way (one pass over
 * the echoed request instead of two). Returns the index just past the
 * object's `}`, or -1 when the bytes do not walk as an object.
 */
function walkObject(b: Buffer, open: number, end: number, wanted: Buffer[], spans: Span[], into?: Into): number {
  if (b[open] !== LBRACE) return -1;
  let i = skipSpace(b, open + 1);
  if (b[i] === RBRACE) return i + 1;
  while (i < end) {
    if (b[i] !== QUOTE) return -1;
    // A name: short, so a byte loop; one with an escape is left to the parse.
    let nameEnd = i + 1;
    while (nameEnd < end && b[nameEnd] !== QUOTE && b[nameEnd] !== BACKSLASH) nameEnd++;
    if (nameEnd >= end || b[nameEnd] !== QUOTE) return -1;
    let hit = -1;
    const len = nameEnd + 1 - i;
    for (let w = 0; w < wanted.length; w++) {
      const name = wanted[w]!;
      // Length and first letter before a native compare: most names are not wanted.
      if (name.length === len && nameAt(b, i, name)) {
        hit = w;
        break;
      }
    }
    const colon = skipSpace(b, nameEnd + 1);
    if (b[colon] !== COLON) return -1;
    const v = skipSpace(b, colon + 1);
    const c = b[v];
    let after: number;
    if (into && hit === into.at && c === LBRACE) {
      // A repeated member counts by its last value only: nothing of an earlier one stays.
      for (const sp of into.spans) sp.start = sp.end = -1;
      after = walkObject(b, v, end, into.wanted, into.spans);
      // A value this walk cannot read (an escaped name) is skipped whole; its members stay unknown.
      if (after === -1) {
        for (const sp of into.spans) sp.start = sp.end = -1;
        after = valueEnd(b, v);
      }
    } else after = c === QUOTE ? skipString(b, v) : c === LBRACE || c === LBRACKET ? valueEnd(b, v) : scalarEnd(b, v, end);
    if (after === -1 || after > end) return -1;
    if (hit >= 0) {
      spans[hit]!.start = v;
      spans[hit]!.end = after;
    }
    i = skipSpace(b, after);
    if (b[i] === RBRACE) return i + 1;
    if (b[i] !== COMMA) return -1;
    i = skipSpace(b, i + 1);
  }
  return -1;
}

const none = (): Span => ({ start: -1, end: -1 });

/**
 * The spans one scan fills, made once and reused row after row by a caller
 * that reads each shape before the next scan (the fetch): a dozen small
 * objects per row were young-generation churn on a 200 MB download.
 */
export class RowScratch {
  readonly spans = [none(), none(), none(), none()];
  readonly labels = [none()];
  readonly into: Into = { at: REQUEST, wanted: LABELS, spans: this.labels };
  readonly seq = [none()];
  readonly shape: RowShape = { key: this.spans[KEY]!, keyEscaped: false, status: this.spans[STATUS]!, statusEscaped: false, request: this.spans[REQUEST]!, labels: this.labels[0]!, response: this.spans[RESPONSE]! };
}

/**
 * The row's top-level members (spans are indexes into `line`), or undefined
 * when the bytes [start, end) of `line` are not one object this walk reads
 * (the caller parses it). With `scratch`, the shape returned is the
 * scratch's own, valid until its next scan.
 */
export function scanRow(line: Buffer, start = 0, end = line.length, scratch = new RowScratch()): RowShape | undefined {
  const open = skipSpaceTo(line, start, end);
  const last = skipSpaceBack(line, end - 1);
  if (open >= end || last < open) return undefined;
  const { spans, labels, into, shape } = scratch;
  for (const sp of spans) sp.start = sp.end = -1;
  labels[0]!.start = labels[0]!.end = -1;
  const closed = walkObject(line, open, last + 1, NAMES, spans, into);
  if (closed !== last + 1) return undefined;
  const { key, status } = shape;
  shape.keyEscaped = key.start >= 0 && line[key.start] === QUOTE && stringEnd(line, key.start).escaped;
  shape.statusEscaped = status.start >= 0 && line[status.start] === QUOTE && stringEnd(line, status.start).escaped;
  return shape;
}

/**
 * The seq in the echoed request's `labels.gbs_seq` ("<1-16 digits>"), from
 * the span of `labels` scanRow found; undefined when there is none the walk
 * can read.
 */
export function labelSeqAt(line: Buffer, labels: Span, seq: Span[] = [none()]): number | undefined {
  if (labels.start < 0 || line[labels.start] !== LBRACE) return undefined;
  seq[0]!.start = seq[0]!.end = -1;
  if (walkObject(line, labels.start, labels.end, GBS_SEQ, seq) === -1) return undefined;
  const { start, end } = seq[0]!;
  // "<digits>": no escapes, 1-16 digits (a safe integer).
  if (start < 0 || line[start] !== QUOTE || end - start < 3 || end - start > 18) return undefined;
  let n = 0;
  for (let i = start + 1; i < end - 1; i++) {
    const d = line[i]! - 0x30;
    if (d < 0 || d > 9) return undefined;
    n = n * 10 + d;
  }
  return n;
}

/** The seq of an unescaped `"<digits>:<text>"` key string at `key`, or undefined. */
export function wireKeySeqAt(line: Buffer, key: Span): number | undefined {
  if (key.start < 0 || line[key.start] !== QUOTE) return undefined;
  let seq = 0;
  let i = key.start + 1;
  for (; i < key.end - 1; i++) {
    const d = line[i]! - 0x30;
    if (d < 0 || d > 9) break;
    seq = seq * 10 + d;
  }
  const digits = i - key.start - 1;
  return digits > 0 && digits <= 16 && line[i] === COLON ? seq : undefined;
}
