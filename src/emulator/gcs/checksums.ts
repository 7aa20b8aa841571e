/**
 * The two checksums Cloud Storage keeps per object, computed as bytes stream
 * past: MD5 (node:crypto) and CRC32C (Castagnoli, big-endian, base64), what
 * `md5Hash`, `crc32c` and `x-goog-hash` carry. CRC32C comes from @node-rs/crc32
 * (SIMD, a few GB/s here): node:zlib has only plain CRC32, and the emulator
 * checksums every byte uploaded and every output row it writes.
 *
 * MD5 runs on a worker thread (md5-thread.ts): OpenSSL's MD5 is ~10x the
 * SIMD CRC32C per byte, and on the emulator's thread it was a tenth of a
 * Vertex job's CPU, on the path every client waits on.
 */
import { crc32c } from '@node-rs/crc32';
import { md5Thread, type Md5Stream } from './md5-thread.js';

export interface ObjectHashes {
  md5Hash: string;
  crc32c: string;
}

export class Checksums {
  private readonly md5: Md5Stream = md5Thread().open();
  private crc = 0;

  update(chunk: Buffer): void {
    this.md5.update(chunk);
    this.crc = crc32c(chunk, this.crc);
  }

  /** Resolves once the MD5 thread is within its bound of bytes behind (a writer awaits it: memory stays flat). */
  caughtUp(): Promise<void> {
    return this.md5.caughtUp();
  }

  /** Once, at the end (an MD5 digest cannot be taken twice). */
  async digest(): Promise<ObjectHashes> {
    const be = Buffer.alloc(4);
    be.writeUInt32BE(this.crc >>> 0);
    return { md5Hash: await this.md5.digest(), crc32c: be.toString('base64') };
  }

  /** Never digested (an upload abandoned): the thread drops its state. */
  discard(): void {
    this.md5.discard();
  }
}

/** `crc32c=…,md5=…` (the X-Goog-Hash header) as a record; unknown names kept, malformed pairs skipped. */
export function parseGoogHash(header: string | undefined): Partial<Record<'crc32c' | 'md5', string>> {
  const out: Partial<Record<'crc32c' | 'md5', string>> = {};
  for (const pair of (header ?? '').split(',')) {
    const i = pair.indexOf('=');
    if (i <= 0) continue;
    const k = pair.slice(0, i).trim();
    if (k === 'crc32c' || k === 'md5') out[k] = pair.slice(i + 1).trim();
  }
  return out;
}
