/** Builds the inline requests array of a create body from a spool file, by slicing bytes. */
import { readFile } from 'node:fs/promises';
import { lineToInlineItem } from './wire-line.js';

/** `[item,item,...]` for a spool file already bounded by maxInlineBytes (so holding it is bounded too). */
export async function inlineRequestsJson(spoolPath: string): Promise<Buffer> {
  const data = await readFile(spoolPath);
  const parts: Buffer[] = [Buffer.from('[')];
  let start = 0;
  let first = true;
  while (start < data.length) {
    let nl = data.indexOf(0x0a, start);
    if (nl === -1) nl = data.length;
    if (nl > start) {
      if (!first) parts.push(Buffer.from(','));
      parts.push(lineToInlineItem(data.subarray(start, nl + 1)));
      first = false;
    }
    start = nl + 1;
  }
  parts.push(Buffer.from(']'));
  return Buffer.concat(parts);
}
