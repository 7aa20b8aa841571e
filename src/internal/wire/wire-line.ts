/**
 * The bytes on the wire. A request line is `{"key":"<seq>:<userKey>","request":{...}}\n`:
 * the seq travels with every request and comes back with every result, so
 * results are matched by key without holding a key→seq map, and duplicate
 * user keys can never swap results (DESIGN.md invariant 1).
 */

const KEY_PREFIX = Buffer.from('{"key":"');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;

export function wireKey(seq: number, key: string): string {
  return `${seq}:${key}`;
}

/** Serialise one request line (exactly the bytes uploaded). */
export function serializeRequestLine(seq: number, key: string, request: unknown): Buffer {
  return Buffer.from(`{"key":${JSON.stringify(wireKey(seq, key))},"request":${JSON.stringify(request)}}\n`);
}

export interface ParsedWireKey {
  seq: number;
  userKey: string;
  /** Index just past the closing quote of the key string when the line starts with {"key":"...", else -1. */
  keyEnd: number;
}

/** Split a wire key "<seq>:<userKey>"; undefined when it is not one of ours. */
export function splitWireKey(k: unknown): { seq: number; userKey: string } | undefined {
  if (typeof k !== 'string') return undefined;
  const colon = k.indexOf(':');
  if (colon <= 0) return undefined;
  let seq = 0;
  for (let i = 0; i < colon; i++) {
    const c = k.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return undefined;
    seq = seq * 10 + c;
  }
  return { seq, userKey: k.slice(colon + 1) };
}

/**
 * Read the wire key of a result (or request) line without parsing the whole
 * line: the fast path covers lines that start with {"key":"<digits>:..." and
 * have no escapes in the key; anything else is parsed in full.
 */
export function readLineKey(line: Buffer): ParsedWireKey | undefined {
  if (line.length > KEY_PREFIX.length && line.compare(KEY_PREFIX, 0, KEY_PREFIX.length, 0, KEY_PREFIX.length) === 0) {
    let i = KEY_PREFIX.length;
    let seq = 0;
    let digits = 0;
    for (; i < line.length; i++) {
      const c = line[i]!;
      if (c >= 0x30 && c <= 0x39) {
        seq = seq * 10 + (c - 0x30);
        digits++;
      } else break;
    }
    if (digits > 0 && line[i] === COLON) {
      const start = i + 1;
      let j = start;
      for (; j < line.length; j++) {
        const c = line[j]!;
        if (c === QUOTE) return { seq, userKey: line.toString('utf8', start, j), keyEnd: j + 1 };
        if (c === BACKSLASH) break;
      }
    }
  }
  try {
    const parsed = JSON.parse(line.toString('utf8')) as { key?: unknown; metadata?: { key?: unknown } };
    const k = splitWireKey(parsed?.key ?? parsed?.metadata?.key);
    return k ? { ...k, keyEnd: -1 } : undefined;
  } catch {
    return undefined;
  }
}

const INLINE_HEAD = Buffer.from('{"request":');
const INLINE_META = Buffer.from(',"metadata":{"key":');
const INLINE_TAIL = Buffer.from('}}');
const LINE_HEAD_LEN = '{"key":'.length;
const LINE_REQ_LEN = ',"request":'.length;

/**
 * Bytes one request line adds to an inline create body (its item plus the
 * comma that separates it from the previous one). The item is
 * `{"request":R,"metadata":{"key":K}}` where the line is `{"key":K,"request":R}\n`.
 */
export function inlineItemBytes(lineBytes: number): number {
  return lineBytes - 1 - LINE_HEAD_LEN - LINE_REQ_LEN - 1 + INLINE_HEAD.length + INLINE_META.length + INLINE_TAIL.length + 1;
}

/** The envelope of an inline create body around the items (displayName up to 64 chars budgeted). */
export function inlineEnvelopeBytes(): number {
  return Buffer.byteLength('{"batch":{"displayName":"","inputConfig":{"requests":{"requests":[]}}}}') + 64;
}

/**
 * Turn a request line we serialised ourselves into an inline request item,
 * by slicing bytes, never re-parsing the request.
 */
export function lineToInlineItem(line: Buffer): Buffer {
  // Our lines are {"key":<JSON string>,"request":<JSON>}\n; the key string has
  // been through JSON.stringify so its end is the first unescaped quote.
  let i = LINE_HEAD_LEN + 1;
  for (; i < line.length; i++) {
    const c = line[i]!;
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) break;
  }
  const keyJson = line.subarray(LINE_HEAD_LEN, i + 1);
  let end = line.length;
  if (line[end - 1] === 0x0a) end--;
  const request = line.subarray(i + 1 + LINE_REQ_LEN, end - 1);
  return Buffer.concat([INLINE_HEAD, request, INLINE_META, keyJson, INLINE_TAIL]);
}

const RESPONSE_AFTER_KEY = Buffer.from(',"response":');
const ERROR_AFTER_KEY = Buffer.from(',"error":');

/**
 * Whether a result line carries a response (else it is an error line). For
 * lines of our own shape the bytes after the key say it (keyEnd from
 * readLineKey); anything else is parsed, and an unparsable line is an error.
 */
export function isSuccessLine(line: Buffer, keyEnd: number): boolean {
  if (keyEnd > 0) {
    if (line.compare(RESPONSE_AFTER_KEY, 0, RESPONSE_AFTER_KEY.length, keyEnd, keyEnd + RESPONSE_AFTER_KEY.length) === 0) return true;
    if (line.compare(ERROR_AFTER_KEY, 0, ERROR_AFTER_KEY.length, keyEnd, keyEnd + ERROR_AFTER_KEY.length) === 0) return false;
  }
  try {
    const parsed = JSON.parse(line.toString('utf8')) as { response?: unknown };
    return parsed.response !== undefined && parsed.response !== null;
  } catch {
    return false;
  }
}

/** True when the line starts `{"key":"<seq>:...","response":` — already the output shape but for the key. */
export function hasResponseAfterKey(line: Buffer, keyEnd: number): boolean {
  return keyEnd > 0 && line.compare(RESPONSE_AFTER_KEY, 0, RESPONSE_AFTER_KEY.length, keyEnd, keyEnd + RESPONSE_AFTER_KEY.length) === 0;
}
