/**
 * The inline requests array of a create body, made from a spool file by
 * slicing bytes and streamed: an inline body can be 20 MB, and several
 * creates may be in flight, so it is never built whole in memory.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { lineToInlineItem } from './wire-line.js';

const OPEN = Buffer.from('[');
const CLOSE = Buffer.from(']');
const COMMA = Buffer.from(',');
const EMPTY = Buffer.alloc(0);

/** `[item,item,...]` from the request lines of a spool file, as a stream (a new one per call). */
export function inlineRequestsStream(spoolPath: string): Readable {
  return Readable.from(inlineItems(spoolPath), { objectMode: false });
}

async function* inlineItems(spoolPath: string): AsyncGenerator<Buffer> {
  yield OPEN;
  let first = true;
  let rest: Buffer = EMPTY;
  const items = (buf: Buffer, final: boolean): Buffer[] => {
    const out: Buffer[] = [];
    let start = 0;
    for (;;) {
      let nl = buf.indexOf(0x0a, start);
      if (nl === -1) {
        if (!final || start >= buf.length) break;
        nl = buf.length;
      }
      if (nl > start) {
        if (!first) out.push(COMMA);
        first = false;
        out.push(lineToInlineItem(buf.subarray(start, nl + 1)));
      }
      start = nl + 1;
    }
    rest = final ? EMPTY : buf.subarray(start);
    return out;
  };
  for await (const chunk of createReadStream(spoolPath, { highWaterMark: 256 << 10 }) as AsyncIterable<Buffer>) {
    const out = items(rest.length ? Buffer.concat([rest, chunk]) : chunk, false);
    if (out.length) yield Buffer.concat(out);
  }
  const last = items(rest, true);
  if (last.length) yield Buffer.concat(last);
  yield CLOSE;
}

/** The same array in one Buffer (tests, and small bodies). */
export async function inlineRequestsJson(spoolPath: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of inlineItems(spoolPath)) parts.push(b);
  return Buffer.concat(parts);
}
