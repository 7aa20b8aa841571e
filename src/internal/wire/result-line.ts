/**
 * Result lines as bytes, whatever their field order. The real service writes
 * the key LAST (`{"response": {...}, "key": "12:abc"}`) with spaces, our own
 * lines and older emulators write it first (`{"key":"12:abc","response":...}`):
 * a cheap scan finds the key at either end, and only a line of any other
 * shape (key in the middle, `metadata.key` of inline results, garbage) is
 * parsed. A success line is turned into an output line by slicing, with no
 * parse at all.
 */
import { bytesAt, skipSpace, skipSpaceBack, stringEnd, stringStartBack, valueEnd } from './json-bytes.js';
import { splitWireKey } from './wire-key.js';

export interface ParsedWireKey {
  seq: number;
  userKey: string;
  /**
   * Index just past the closing quote of the key string when the key was
   * found by the byte scan (first or last member), else -1.
   */
  keyEnd: number;
  /** Index of the key string's opening quote (-1 when parsed). */
  keyStart: number;
  /** Where the key was found: first member, last member, or only by parsing the line. */
  at: 'first' | 'last' | 'parsed';
  /** For a key-last line: index of the comma that precedes the `"key"` member. */
  memberStart: number;
}

const KEY = Buffer.from('"key"');
const RESPONSE = Buffer.from('"response"');
const ERROR = Buffer.from('"error"');
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const COLON = 0x3a;
const COMMA = 0x2c;
const QUOTE = 0x22;

/**
 * A key found by the byte scan, "<digits>:<text>" with no escapes. The user
 * key is decoded only when asked for: the index pass of every result line
 * needs the seq alone (a toString per line was a tenth of the demux's time).
 * Read `userKey` while the line's bytes are still there: lines from
 * LineReader and forEachLineAsync are views into a block that the next read
 * overwrites.
 */
class ScannedKey implements ParsedWireKey {
  private decoded: string | undefined;
  constructor(
    private readonly line: Buffer,
    readonly seq: number,
    /** Index of the user key's first byte (just past the colon). */
    private readonly textStart: number,
    readonly keyStart: number,
    readonly keyEnd: number,
    readonly at: 'first' | 'last',
    readonly memberStart: number,
  ) {}

  get userKey(): string {
    return (this.decoded ??= this.line.toString('utf8', this.textStart, this.keyEnd - 1));
  }
}

/** The key string at [start, end) (quotes included) as a ParsedWireKey, or undefined when it is not ours. */
function decodeKey(line: Buffer, start: number, end: number, escaped: boolean, at: 'first' | 'last', memberStart: number): ParsedWireKey | undefined {
  if (!escaped) {
    // Fast path: "<digits>:<text>" with no escapes.
    let i = start + 1;
    let seq = 0;
    for (; i < end - 1; i++) {
      const c = line[i]!;
      if (c >= 0x30 && c <= 0x39) seq = seq * 10 + (c - 0x30);
      else break;
    }
    if (i === start + 1 || i - start - 1 > 16 || line[i] !== COLON) return undefined;
    return new ScannedKey(line, seq, i + 1, start, end, at, memberStart);
  }
  try {
    const k = splitWireKey(JSON.parse(line.toString('utf8', start, end)));
    return k && { seq: k.seq, userKey: k.userKey, keyEnd: end, keyStart: start, at, memberStart };
  } catch {
    return undefined;
  }
}

/** The key when it is the first member: `{ "key" : "..."`. */
function keyFirst(line: Buffer): ParsedWireKey | undefined {
  let i = skipSpace(line, 0);
  if (line[i] !== OPEN_BRACE) return undefined;
  i = skipSpace(line, i + 1);
  if (!bytesAt(line, i, KEY)) return undefined;
  i = skipSpace(line, i + KEY.length);
  if (line[i] !== COLON) return undefined;
  i = skipSpace(line, i + 1);
  if (line[i] !== QUOTE) return undefined;
  const s = stringEnd(line, i);
  if (s.end === -1) return undefined;
  return decodeKey(line, i, s.end, s.escaped, 'first', -1);
}

/** The key when it is the last member: `, "key" : "..." }` at the end of the line. */
function keyLast(line: Buffer): ParsedWireKey | undefined {
  let e = skipSpaceBack(line, line.length - 1);
  if (line[e] !== CLOSE_BRACE) return undefined;
  e = skipSpaceBack(line, e - 1);
  if (line[e] !== QUOTE) return undefined;
  const s = stringStartBack(line, e);
  if (s.start === -1) return undefined;
  let b = skipSpaceBack(line, s.start - 1);
  if (line[b] !== COLON) return undefined;
  b = skipSpaceBack(line, b - 1);
  if (!bytesAt(line, b - KEY.length + 1, KEY)) return undefined;
  b = skipSpaceBack(line, b - KEY.length);
  if (line[b] !== COMMA) return undefined;
  return decodeKey(line, s.start, e + 1, s.escaped, 'last', b);
}

/**
 * Read the wire key of a result (or request) line: a byte scan at either end
 * of the line, else one parse (which also finds `metadata.key`). Undefined
 * when the line carries no key of ours or is not JSON.
 */
export function readLineKey(line: Buffer): ParsedWireKey | undefined {
  const found = keyFirst(line) ?? keyLast(line);
  if (found) return found;
  try {
    const parsed = JSON.parse(line.toString('utf8')) as { key?: unknown; metadata?: { key?: unknown } };
    const k = splitWireKey(parsed?.key ?? parsed?.metadata?.key);
    return k ? { seq: k.seq, userKey: k.userKey, keyEnd: -1, keyStart: -1, at: 'parsed', memberStart: -1 } : undefined;
  } catch {
    return undefined;
  }
}

/** 'response' / 'error' when the member at i is one of those with an object value, else undefined. */
function memberKind(line: Buffer, i: number): 'response' | 'error' | undefined {
  const kind = bytesAt(line, i, RESPONSE) ? 'response' : bytesAt(line, i, ERROR) ? 'error' : undefined;
  if (!kind) return undefined;
  let j = skipSpace(line, i + (kind === 'response' ? RESPONSE.length : ERROR.length));
  if (line[j] !== COLON) return undefined;
  j = skipSpace(line, j + 1);
  return line[j] === OPEN_BRACE ? kind : undefined;
}

/**
 * Whether a result line carries a response (else it is an error line). The
 * first member says it (key-last lines start with it); for key-first lines
 * the member after the key does. Anything else is parsed, and an unparsable
 * line is an error. `key` is readLineKey's answer or its keyEnd (either may be
 * omitted).
 */
export function isSuccessLine(line: Buffer, key?: ParsedWireKey | number): boolean {
  let i = skipSpace(line, 0);
  if (line[i] === OPEN_BRACE) {
    i = skipSpace(line, i + 1);
    let kind = memberKind(line, i);
    if (!kind && bytesAt(line, i, KEY)) {
      let keyEnd = typeof key === 'number' ? key : (key?.keyEnd ?? -1);
      if (keyEnd <= 0 || (typeof key === 'object' && key.at !== 'first')) keyEnd = keyFirst(line)?.keyEnd ?? -1;
      if (keyEnd > 0) {
        const j = skipSpace(line, keyEnd);
        if (line[j] === COMMA) kind = memberKind(line, skipSpace(line, j + 1));
      }
    }
    if (kind) return kind === 'response';
  }
  try {
    const parsed = JSON.parse(line.toString('utf8')) as { response?: unknown };
    return parsed.response !== undefined && parsed.response !== null;
  } catch {
    return false;
  }
}

const NEWLINE = 0x0a;

/**
 * The output line `{"key":<userKey>,<the other members>}\n` made from a
 * result line by slicing bytes (the key always first, whatever the service's
 * order). Undefined when the key was not found by the byte scan, or the
 * line's brackets do not balance (the caller parses then).
 */
export function rekeyResultLine(line: Buffer, key: ParsedWireKey, objectEnd?: number): Buffer | undefined {
  if (key.at === 'parsed') return undefined;
  // A cut line (a download that ended mid-line) must not reach the output as
  // broken JSON: its brackets must balance (strings jumped over natively).
  // `objectEnd`: where the line's object ends, when the caller already walked it.
  const open = skipSpace(line, 0);
  if ((objectEnd ?? valueEnd(line, open)) !== skipSpaceBack(line, line.length - 1) + 1) return undefined;
  const head = Buffer.from(`{"key":${JSON.stringify(key.userKey)}`);
  if (key.at === 'first') {
    const end = skipSpaceBack(line, line.length - 1) + 1;
    return Buffer.concat([head, line.subarray(key.keyEnd, end), NEWLINE_BUF]);
  }
  if (key.at === 'last') {
    const from = skipSpace(line, open + 1);
    const to = skipSpaceBack(line, key.memberStart - 1) + 1;
    if (to <= from) return Buffer.concat([head, CLOSE_NL]);
    return Buffer.concat([head, COMMA_BUF, line.subarray(from, to), CLOSE_NL]);
  }
  return undefined;
}

const NEWLINE_BUF = Buffer.from([NEWLINE]);
const COMMA_BUF = Buffer.from(',');
const CLOSE_NL = Buffer.from('}\n');
