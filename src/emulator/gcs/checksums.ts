/**
 * The two checksums Cloud Storage keeps per object, computed as bytes stream
 * past: MD5 (node:crypto) and CRC32C (Castagnoli, big-endian, base64), what
 * `md5Hash`, `crc32c` and `x-goog-hash` carry. CRC32C comes from @node-rs/crc32
 * (SIMD, a few GB/s here): node:zlib has only plain CRC32, and the emulator
 * checksums every byte uploaded and every output row it writes.
 */
import { createHash, type Hash } from 'node:crypto';
import { crc32c } from '@node-rs/crc32';

export interface ObjectHashes {
  md5Hash: string;
  crc32c: string;
}

export class Checksums {
  private readonly md5: Hash = createHash('md5');
  private crc = 0;

  update(chunk: Buffer): void {
    this.md5.update(chunk);
    this.crc = crc32c(chunk, this.crc);
  }

  /** Once, at the end (an MD5 digest cannot be taken twice). */
  digest(): ObjectHashes {
    const be = Buffer.alloc(4);
    be.writeUInt32BE(this.crc >>> 0);
    return { md5Hash: this.md5.digest('base64'), crc32c: be.toString('base64') };
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
