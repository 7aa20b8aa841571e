/**
 * An append-only spool file with a bounded write buffer and a running
 * sha256: the exact bytes that will be uploaded, hashed as they are written.
 */
import { createHash, type Hash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';

const FLUSH_AT = 256 << 10;

export class SpoolFile {
  private fh: FileHandle | undefined;
  private opening: Promise<FileHandle> | undefined;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private chain: Promise<void> = Promise.resolve();
  private readonly hash: Hash = createHash('sha256');
  bytes = 0;

  constructor(readonly path: string) {}

  /** Buffer a line; resolves (after a write) only when the buffer is full, else returns undefined. */
  append(line: Buffer): Promise<void> | undefined {
    this.pending.push(line);
    this.pendingBytes += line.length;
    this.bytes += line.length;
    this.hash.update(line);
    return this.pendingBytes >= FLUSH_AT ? this.flush() : undefined;
  }

  /** Writes are chained so a close can never overtake a write in progress. */
  flush(): Promise<void> {
    const bufs = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    this.chain = this.chain.then(async () => {
      const fh = await this.handle();
      if (bufs.length) await fh.writev(bufs);
    });
    return this.chain;
  }

  /** Flush and close; returns the sha256 hex of everything appended. */
  async close(): Promise<string> {
    await this.flush();
    await this.fh?.close();
    this.fh = undefined;
    return this.hash.digest('hex');
  }

  /** Close without caring about the content (destroy path). */
  async abandon(): Promise<void> {
    this.pending = [];
    const fh = this.fh ?? (this.opening ? await this.opening.catch(() => undefined) : undefined);
    this.fh = undefined;
    await fh?.close().catch(() => undefined);
  }

  private handle(): Promise<FileHandle> {
    if (this.fh) return Promise.resolve(this.fh);
    this.opening ??= open(this.path, 'w').then((fh) => (this.fh = fh));
    return this.opening;
  }
}
