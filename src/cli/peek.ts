/**
 * Look at the first non-blank byte of a byte stream without consuming it, so
 * one INPUT argument (a file or stdin) can be either JSONL or a JSON array.
 */
import type { Readable } from 'node:stream';

function nextChunk(s: Readable): Promise<Buffer | null> {
  const now = s.read() as Buffer | null;
  if (now !== null || s.readableEnded) return Promise.resolve(now);
  return new Promise((resolve, reject) => {
    const done = (fn: () => void) => {
      s.off('readable', onReadable).off('end', onEnd).off('error', onError);
      fn();
    };
    const onReadable = () => done(() => resolve(nextChunk(s)));
    const onEnd = () => done(() => resolve(null));
    const onError = (err: Error) => done(() => reject(err));
    s.on('readable', onReadable).on('end', onEnd).on('error', onError);
  });
}

const isBlank = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
const BOM = [0xef, 0xbb, 0xbf];

/**
 * The first byte that is neither whitespace nor a UTF-8 BOM, or undefined for
 * an input with nothing else in it. Everything read is pushed back (unshift).
 */
export async function peekFirstByte(s: Readable): Promise<number | undefined> {
  const seen: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const chunk = await nextChunk(s);
    if (chunk === null) return undefined; // only blanks: nothing to give back that matters
    seen.push(chunk);
    for (let i = 0; i < chunk.length; i++, offset++) {
      const b = chunk[i]!;
      if (offset < 3 && b === BOM[offset]) continue;
      if (isBlank(b)) continue;
      s.unshift(seen.length === 1 ? chunk : Buffer.concat(seen));
      return b;
    }
  }
}
