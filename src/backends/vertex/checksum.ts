/**
 * The checksums Cloud Storage keeps per object (`crc32c`: CRC32C big-endian,
 * base64; `md5Hash`: base64), computed as bytes stream past. CRC32C comes
 * from @node-rs/crc32 (node:zlib has only plain CRC32), loaded with the first
 * object; MD5 from node:crypto. Composite objects carry no MD5, every object
 * carries a CRC32C: that one is checked first.
 */
import { createReadStream } from 'node:fs';
import { createHash, type Hash } from 'node:crypto';

type Crc32c = (input: Uint8Array, initial?: number) => number;
let loaded: Promise<Crc32c> | undefined;
const loadCrc32c = () => (loaded ??= import('@node-rs/crc32').then((m) => m.crc32c));

export interface ObjectHashes {
  crc32c?: string;
  md5Hash?: string;
}

export class StreamHash {
  private crc = 0;
  private readonly md5: Hash | undefined;

  private constructor(
    private readonly crc32c: Crc32c,
    md5: boolean,
  ) {
    this.md5 = md5 ? createHash('md5') : undefined;
  }

  /**
   * `md5: false` skips the MD5 (a download checked by the object's CRC32C:
   * MD5 in JS-driven OpenSSL costs ~10x the SIMD CRC32C per byte); its
   * `md5Hash` digest is then ''.
   */
  static async open(opts: { md5?: boolean } = {}): Promise<StreamHash> {
    return new StreamHash(await loadCrc32c(), opts.md5 ?? true);
  }

  update(chunk: Uint8Array): void {
    this.crc = this.crc32c(chunk, this.crc);
    this.md5?.update(chunk);
  }

  /** Once, at the end. */
  digest(): Required<ObjectHashes> {
    const be = Buffer.alloc(4);
    be.writeUInt32BE(this.crc >>> 0);
    return { crc32c: be.toString('base64'), md5Hash: this.md5 ? this.md5.digest('base64') : '' };
  }
}

/** Which checksum disagrees ('crc32c' / 'md5Hash'), or undefined when all those the object carries match. */
export function mismatch(got: Required<ObjectHashes>, want: ObjectHashes): keyof ObjectHashes | undefined {
  if (want.crc32c && want.crc32c !== got.crc32c) return 'crc32c';
  if (want.md5Hash && want.md5Hash !== got.md5Hash) return 'md5Hash';
  return undefined;
}

/** A local file's checksums, streamed. */
export async function fileHashes(path: string, signal?: AbortSignal): Promise<Required<ObjectHashes>> {
  const h = await StreamHash.open();
  for await (const chunk of createReadStream(path, signal ? { signal } : {})) h.update(chunk as Buffer);
  return h.digest();
}

/** `crc32c=…,md5=…` (the x-goog-hash header) as ObjectHashes. */
export function parseGoogHash(value: string | string[] | undefined): ObjectHashes {
  const out: ObjectHashes = {};
  for (const pair of (Array.isArray(value) ? value.join(',') : (value ?? '')).split(',')) {
    const i = pair.indexOf('=');
    if (i <= 0) continue;
    const k = pair.slice(0, i).trim();
    if (k === 'crc32c') out.crc32c = pair.slice(i + 1).trim();
    else if (k === 'md5') out.md5Hash = pair.slice(i + 1).trim();
  }
  return out;
}
