/**
 * The one set of byte-level JSON moves the wire module makes: skip
 * whitespace, match an ASCII token, find where a string ends, find where an
 * object ends. A string's end comes in named variants: `stringEnd` (skipping,
 * says whether it saw an escape), `skipString` (skipping long strings with
 * indexOf), `validStringEnd` (validating: JSON.parse's rules) and
 * `plainStringEnd` (a name: no escapes, no control characters). They only
 * ever look at the ASCII frame of a line, so byte offsets stay byte offsets
 * whatever the text inside is.
 */

/** The ASCII bytes of JSON's frame, named once for every byte-level reader. */
export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;
export const COMMA = 0x2c;
export const COLON = 0x3a;
export const LBRACE = 0x7b;
export const RBRACE = 0x7d;
export const LBRACKET = 0x5b;
export const RBRACKET = 0x5d;
export const LF = 0x0a;
export const CR = 0x0d;
export const SPACE = 0x20;

export function isJsonSpace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** First index at or after i that is not JSON whitespace. */
export function skipSpace(buf: Buffer, i: number): number {
  while (i < buf.length && isJsonSpace(buf[i])) i++;
  return i;
}

/** skipSpace within [i, end). */
export function skipSpaceTo(buf: Buffer, i: number, end: number): number {
  while (i < end && isJsonSpace(buf[i])) i++;
  return i;
}

const isHex = (c: number | undefined) => c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));

/** Validating: index just past the string opening at i, or -1 when it is not a valid JSON string within [i, end). */
export function validStringEnd(b: Buffer, i: number, end: number): number {
  for (i++; i < end; i++) {
    const c = b[i]!;
    if (c === QUOTE) return i + 1;
    if (c < 0x20) return -1;
    if (c === BACKSLASH) {
      const e = b[++i];
      if (e === 0x75) {
        if (!(isHex(b[i + 1]) && isHex(b[i + 2]) && isHex(b[i + 3]) && isHex(b[i + 4]))) return -1;
        i += 4;
      } else if (!(e === 0x22 || e === 0x5c || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74)) {
        return -1;
      }
    }
  }
  return -1;
}

/** A name: index just past a string at i with no escapes and no control characters, or -1. */
export function plainStringEnd(b: Buffer, i: number, end: number): number {
  for (i++; i < end; i++) {
    const c = b[i]!;
    if (c === QUOTE) return i + 1;
    if (c === BACKSLASH || c < 0x20) return -1;
  }
  return -1;
}

/** Last index at or before i that is not JSON whitespace (-1 when none). */
export function skipSpaceBack(buf: Buffer, i: number): number {
  while (i >= 0 && isJsonSpace(buf[i])) i--;
  return i;
}

/** Whether `token` (ASCII bytes) sits at buf[i..]. */
export function bytesAt(buf: Buffer, i: number, token: Buffer): boolean {
  return i >= 0 && i + token.length <= buf.length && buf.compare(token, 0, token.length, i, i + token.length) === 0;
}

/**
 * Given the index of a string's opening quote, the index just past its
 * closing quote (-1 when the buffer ends first). `escaped` says whether a
 * backslash was seen (the string then needs JSON.parse to decode).
 */
export function stringEnd(buf: Buffer, open: number): { end: number; escaped: boolean } {
  let escaped = false;
  for (let i = open + 1; i < buf.length; i++) {
    const c = buf[i];
    if (c === BACKSLASH) {
      escaped = true;
      i++;
    } else if (c === QUOTE) return { end: i + 1, escaped };
  }
  return { end: -1, escaped };
}

/** Bytes of a string skipSpan looks at one by one before it hands the rest to indexOf. */
const SHORT_STRING = 32;

/**
 * stringEnd for long strings: the first bytes one by one (most strings of a
 * frame are names and short values, where a native call costs more than the
 * loop), then from quote to quote with indexOf (native), so megabytes of
 * base64 cost next to nothing. Index just past the closing quote, or -1.
 */
export function skipString(buf: Buffer, open: number): number {
  const stop = Math.min(buf.length, open + SHORT_STRING);
  let i = open + 1;
  for (; i < stop; i++) {
    const c = buf[i];
    if (c === QUOTE) return i + 1;
    if (c === BACKSLASH) i++;
  }
  // Past the short loop: every quote found is judged by the run of backslashes before it.
  let q = buf.indexOf(QUOTE, Math.min(i, buf.length));
  while (q !== -1) {
    let run = 0;
    while (buf[q - 1 - run] === BACKSLASH) run++;
    if (run % 2 === 0) return q + 1;
    q = buf.indexOf(QUOTE, q + 1);
  }
  return -1;
}

/**
 * Given the index of a string's closing quote, the index of its opening
 * quote, scanning backwards (-1 when there is none). A quote is the opening
 * one when an even number of backslashes precedes it: inside a valid JSON
 * string every quote is escaped by an odd run.
 */
export function stringStartBack(buf: Buffer, close: number): { start: number; escaped: boolean } {
  let escaped = false;
  for (let i = close - 1; i >= 0; i--) {
    const c = buf[i];
    if (c === BACKSLASH) escaped = true;
    if (c !== QUOTE) continue;
    let run = 0;
    while (i - 1 - run >= 0 && buf[i - 1 - run] === BACKSLASH) run++;
    if (run % 2 === 0) return { start: i, escaped };
    escaped = true;
  }
  return { start: -1, escaped };
}

/**
 * Given the index of a `{` or `[`, the index just past the bracket that
 * closes it (strings skipped), or -1 when the buffer ends first.
 */
export function valueEnd(buf: Buffer, open: number): number {
  let depth = 0;
  for (let i = open; i < buf.length; i++) {
    const c = buf[i]!;
    if (c === QUOTE) {
      const end = skipString(buf, i);
      if (end === -1) return -1;
      i = end - 1;
    } else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}
