/**
 * An append-only spool file with a bounded write buffer and a running
 * sha256: the exact bytes that will be uploaded, hashed as they are written.
 *
 * Lines are copied into one of two reused 256 KiB blocks, and a full block
 * is hashed and written in one call. Holding the lines themselves until a
 * write (a writev of ~400 small Buffers) kept each line alive across young
 * GCs: promoted, its 8 KiB pool slab outside the heap then waited for a full
 * GC, and tens of MB of such garbage set the CLI's peak RSS at 1 GB of input
 * (bench/README, "Memory"). A copy of ~600 bytes costs less than keeping it.
 */
import { createHash, type Hash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';

const BLOCK = 256 << 10;

async function writeAll(fh: FileHandle, buf: Buffer): Promise<void> {
  for (let off = 0; off < buf.length; ) off += (await fh.write(buf, off, buf.length - off)).bytesWritten;
}

export class SpoolFile {
  private fh: FileHandle | undefined;
  private opening: Promise<FileHandle> | undefined;
  /** The block being filled, and how much of it is. */
  private block: Buffer = Buffer.allocUnsafe(BLOCK);
  private filled = 0;
  /** The other block once its write is done (undefined while it is being written). */
  private spare: Buffer | undefined = Buffer.allocUnsafe(BLOCK);
  private chain: Promise<void> = Promise.resolve();
  private readonly hash: Hash = createHash('sha256');
  bytes = 0;

  constructor(readonly path: string) {}

  /** Buffer a line; resolves (after a write) only when a block was full, else returns undefined. */
  append(line: Buffer): Promise<void> | undefined {
    this.bytes += line.length;
    if (line.length <= BLOCK - this.filled) {
      this.filled += line.copy(this.block, this.filled);
      return undefined;
    }
    const written = this.flush();
    if (line.length <= BLOCK) {
      this.filled = line.copy(this.block, 0);
      return written;
    }
    // A line larger than a block (requests go up to 20 MB) is written as it is.
    this.hash.update(line);
    return this.enqueue(line);
  }

  /** Write what is buffered. Writes are chained so a close can never overtake a write in progress. */
  flush(): Promise<void> {
    if (this.filled === 0) return this.chain;
    const full = this.block;
    const bytes = full.subarray(0, this.filled);
    this.hash.update(bytes);
    // The spare is busy only when a caller appended on without waiting for the last write.
    this.block = this.spare ?? Buffer.allocUnsafe(BLOCK);
    this.spare = undefined;
    this.filled = 0;
    return this.enqueue(bytes, () => (this.spare = full));
  }

  /** Flush and close; returns the sha256 hex of everything appended. */
  async close(): Promise<string> {
    await this.flush();
    // An empty spool is still a file (created here when nothing was written).
    await (await this.handle()).close();
    this.fh = undefined;
    return this.hash.digest('hex');
  }

  /** Close without caring about the content (destroy path). */
  async abandon(): Promise<void> {
    this.filled = 0;
    const fh = this.fh ?? (this.opening ? await this.opening.catch(() => undefined) : undefined);
    this.fh = undefined;
    await fh?.close().catch(() => undefined);
  }

  private enqueue(bytes: Buffer, done?: () => void): Promise<void> {
    this.chain = this.chain.then(async () => {
      await writeAll(await this.handle(), bytes);
      done?.();
    });
    return this.chain;
  }

  private handle(): Promise<FileHandle> {
    if (this.fh) return Promise.resolve(this.fh);
    this.opening ??= open(this.path, 'w').then((fh) => (this.fh = fh));
    return this.opening;
  }
}
