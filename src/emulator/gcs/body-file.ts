/** An object body being written to disk, checksummed as the bytes pass. */
import { open, type FileHandle } from 'node:fs/promises';
import { Checksums } from './checksums.js';

export class BodyFile {
  readonly path: string;
  readonly sums: Checksums;
  size: number;
  private readonly fh: FileHandle;

  private constructor(path: string, fh: FileHandle, sums: Checksums, size: number) {
    this.path = path;
    this.fh = fh;
    this.sums = sums;
    this.size = size;
  }

  /** A new file, or (resumable sessions) the part file so far, with the running checksums it came with. */
  static async open(path: string, append?: { sums: Checksums; size: number }): Promise<BodyFile> {
    const fh = await open(path, append ? 'a' : 'w');
    return new BodyFile(path, fh, append?.sums ?? new Checksums(), append?.size ?? 0);
  }

  async write(chunk: Buffer): Promise<void> {
    if (chunk.length === 0) return;
    await this.fh.write(chunk);
    this.sums.update(chunk);
    this.size += chunk.length;
    await this.sums.caughtUp();
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}
