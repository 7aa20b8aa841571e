/**
 * Inline batches send `{"request":R,"metadata":{"key":K}}` items where a file
 * batch sends `{"key":K,"request":R}` lines: an item is made from a spool
 * line by slicing bytes, never re-parsing the request.
 */
import { stringEnd } from './json-bytes.js';

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
 * Turn a spool line into an inline request item. Spool lines are always of
 * the exact shape `{"key":<JSON string>,"request":<JSON>}\n` (toRequestLine
 * writes them so, by serialising or by splicing a raw line of that shape).
 */
export function lineToInlineItem(line: Buffer): Buffer {
  const keyEnd = stringEnd(line, LINE_HEAD_LEN).end;
  const keyJson = line.subarray(LINE_HEAD_LEN, keyEnd);
  let end = line.length;
  if (line[end - 1] === 0x0a) end--;
  const request = line.subarray(keyEnd + LINE_REQ_LEN, end - 1);
  return Buffer.concat([INLINE_HEAD, request, INLINE_META, keyJson, INLINE_TAIL]);
}
