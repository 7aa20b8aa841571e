/**
 * One inline response item, as bytes, to one result line: the item's
 * `response` (or `error`) value is copied into the line as it came, never
 * parsed; only its small `metadata` is, for the key. Whole-buffer helpers:
 * the item is in memory (one at a time, see inline-results.ts).
 */
import { COLON, COMMA, CR, LBRACE, LBRACKET, LF, QUOTE, RBRACE, RBRACKET, SPACE, isJsonSpace, skipString, valueEnd } from '../../internal/wire/json-bytes.js';

/** Index just past the JSON value starting at `i` (whole buffer, valid JSON assumed). */
function skipValue(buf: Buffer, i: number): number {
  const c = buf[i];
  if (c === QUOTE) return skipString(buf, i);
  if (c === LBRACE || c === LBRACKET) return valueEnd(buf, i);
  let j = i;
  while (j < buf.length && buf[j] !== COMMA && buf[j] !== RBRACE && buf[j] !== RBRACKET && !isJsonSpace(buf[j])) j++;
  return j;
}

/** Top-level members of an object item: name → [start, end) of its value. */
function members(item: Buffer): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  let i = 0;
  while (i < item.length && isJsonSpace(item[i])) i++;
  if (item[i] !== LBRACE) return out;
  i++;
  for (;;) {
    while (i < item.length && (isJsonSpace(item[i]) || item[i] === COMMA)) i++;
    if (i >= item.length || item[i] !== QUOTE) return out;
    const nameEnd = skipString(item, i);
    if (nameEnd < 0) return out;
    const name = JSON.parse(item.toString('utf8', i, nameEnd)) as string;
    i = nameEnd;
    while (i < item.length && isJsonSpace(item[i])) i++;
    if (item[i] !== COLON) return out;
    i++;
    while (i < item.length && isJsonSpace(item[i])) i++;
    const end = skipValue(item, i);
    if (end < 0) return out;
    out.set(name, [i, end]);
    i = end;
  }
}

/** A raw newline can only be insignificant whitespace in valid JSON: make the value one line. */
function oneLine(value: Buffer): Buffer {
  for (let i = value.indexOf(LF); i !== -1; i = value.indexOf(LF, i + 1)) value[i] = SPACE;
  for (let i = value.indexOf(CR); i !== -1; i = value.indexOf(CR, i + 1)) value[i] = SPACE;
  return value;
}

const NULL = Buffer.from('null');

/**
 * One inline response item (its bytes) → one result line, the same shape as
 * a responses-file line. `key` is undefined when the item carried none.
 */
export function inlineItemBytesToLine(item: Buffer): { line: Buffer; key: string | undefined } {
  const m = members(item);
  let key: string | undefined;
  const md = m.get('metadata');
  if (md) {
    try {
      const k = (JSON.parse(item.toString('utf8', md[0], md[1])) as { key?: unknown } | null)?.key;
      if (typeof k === 'string') key = k;
    } catch {
      // A malformed metadata is a keyless item.
    }
  }
  const top = m.get('key');
  if (key === undefined && top && item[top[0]] === QUOTE) key = JSON.parse(item.toString('utf8', top[0], top[1])) as string;
  const error = m.get('error') ?? (m.has('response') ? undefined : m.get('status'));
  const range = error ?? m.get('response');
  const field = error ? 'error' : 'response';
  const value = range ? oneLine(item.subarray(range[0], range[1])) : NULL;
  const head = Buffer.from(`{"key":${key === undefined ? 'null' : JSON.stringify(key)},"${field}":`);
  return { line: Buffer.concat([head, value, Buffer.from('}\n')]), key };
}

/** One inline response item (parsed) → one result line; kept for callers that hold objects. */
export function inlineItemToLine(item: unknown): string {
  return inlineItemBytesToLine(Buffer.from(JSON.stringify(item ?? null))).line.toString('utf8').slice(0, -1);
}
