/**
 * Inline responses without keys (js-genai #1191, python-genai #2008;
 * disputed: other captures show `metadata.key`). The documented order of
 * inline responses is the order of the requests, so when NO item carried a
 * key and there are exactly as many items as requests, item i answers
 * request i. In every other case we never guess.
 *
 * The caller passes the ordered wire keys of the batch's requests lazily
 * (an iterable read from its spool file as we go), so no key list is held
 * in memory.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { OrderedKeys } from './types.js';

/** Lines the splitter writes for a keyless item start with exactly this. */
const NULL_HEAD = Buffer.from('{"key":null');
const LF = 0x0a;

class CountMismatch extends Error {}

/**
 * Rewrite `path` (lines `{"key":null,...}` from splitOperation, `count` of
 * them) so line i carries key i. Resolves true when done; false, leaving the
 * file untouched, when the keys are not exactly `count` long.
 */
export async function keyLinesByPosition(path: string, count: number, keys: OrderedKeys): Promise<boolean> {
  const tmp = `${path}.keyed-${process.pid}`;
  const source = keys();
  const iter: AsyncIterator<string> | Iterator<string> =
    Symbol.asyncIterator in source ? (source as AsyncIterable<string>)[Symbol.asyncIterator]() : (source as Iterable<string>)[Symbol.iterator]();
  async function* rekey(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    let atLineStart = true;
    let skip = 0;
    let lines = 0;
    for await (const chunk of chunks) {
      let i = 0;
      while (i < chunk.length) {
        if (atLineStart) {
          const next = await iter.next();
          if (next.done || ++lines > count) throw new CountMismatch();
          yield Buffer.from(`{"key":${JSON.stringify(next.value)}`);
          skip = NULL_HEAD.length;
          atLineStart = false;
        }
        if (skip > 0) {
          const n = Math.min(skip, chunk.length - i);
          skip -= n;
          i += n;
          continue;
        }
        const nl = chunk.indexOf(LF, i);
        const end = nl === -1 ? chunk.length : nl + 1;
        yield chunk.subarray(i, end);
        i = end;
        if (nl !== -1) atLineStart = true;
      }
    }
    if (lines !== count || !(await iter.next()).done) throw new CountMismatch();
  }
  try {
    await pipeline(createReadStream(path, { highWaterMark: 64 * 1024 }), rekey, createWriteStream(tmp));
  } catch (err) {
    await rm(tmp, { force: true });
    if (err instanceof CountMismatch) return false;
    throw err;
  } finally {
    await (iter as AsyncIterator<string>).return?.();
  }
  await rename(tmp, path);
  return true;
}
