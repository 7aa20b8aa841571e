/**
 * Gzip by file name: an INPUT (or a finished OUT, see out-file.ts) ending in `.gz` is read through gunzip, as it
 * streams (zlib's 64 KiB chunks under the reader's backpressure: memory stays
 * bounded whatever the size). Data that is not gzip, or a file cut short, is
 * one usage error naming the file.
 */
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { CliUsageError } from './errors.js';

export function isGzipPath(path: string): boolean {
  return /\.gz$/i.test(path);
}

/** zlib's own errors (bad header, bad data, unexpected end) carry Z_* codes; read errors keep theirs. */
function isZlibError(err: unknown): boolean {
  return /^Z_/.test(String((err as { code?: unknown } | null)?.code ?? ''));
}

/** `source` (gzip bytes) decompressed; destroying the result stops and closes `source`. `what` names the file in errors. */
export function gunzipInput(source: Readable, name: string, what: 'INPUT' | 'OUT' = 'INPUT'): Readable {
  const gunzip = createGunzip({ chunkSize: 64 << 10 });
  pipeline(source, gunzip, () => {});
  async function* chunks(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of gunzip) yield chunk as Buffer;
    } catch (err) {
      if (!isZlibError(err)) throw err;
      throw new CliUsageError(`cannot read ${what} ${name}: not valid gzip data (${(err as Error).message}); a .gz ${what} must be gzip-compressed`);
    }
  }
  return Readable.from(chunks(), { objectMode: false, highWaterMark: 64 << 10 });
}
