/**
 * The job's output directory being written: `predictions.jsonl` and one
 * `incremental_predictions-1.jsonl`. Worst case of VERTEX.md: every tenth row
 * also goes to the incremental file, half of those ONLY there (so a reader
 * must read every *.jsonl in the directory) and half in both (so it must keep
 * the first answer per key). Rows are gathered and written a batch at a time.
 */
import type { BodyFile } from '../gcs/body-file.js';

/** Rows are copied into blocks of this size and written a block at a time. */
const BLOCK_BYTES = 1 << 20;
const NEWLINE = Buffer.from('\n');

class JsonlFile {
  readonly file: BodyFile;
  rows = 0;
  private sealed: Buffer[] = [];
  private block = Buffer.allocUnsafe(BLOCK_BYTES);
  private used = 0;
  private bytes = 0;

  constructor(file: BodyFile) {
    this.file = file;
  }

  /** A row's UTF-8 bytes (its newline is added here). */
  add(row: Buffer): void {
    const n = row.length + 1;
    this.bytes += n;
    this.rows++;
    if (this.used + n > this.block.length) {
      this.seal();
      if (n > this.block.length) {
        this.sealed.push(Buffer.concat([row, NEWLINE]));
        return;
      }
    }
    this.block.set(row, this.used);
    this.used += row.length;
    this.block[this.used++] = 0x0a;
  }

  private seal(): void {
    if (this.used === 0) return;
    this.sealed.push(this.block.subarray(0, this.used));
    this.block = Buffer.allocUnsafe(BLOCK_BYTES);
    this.used = 0;
  }

  get queued(): number {
    return this.bytes;
  }

  /** The rows so far to the file; the block is reused once written (adds wait for a flush: the runner awaits it). */
  async flush(): Promise<void> {
    const full = this.sealed;
    this.sealed = [];
    this.bytes = 0;
    for (const b of full) await this.file.write(b);
    if (this.used > 0) await this.file.write(this.block.subarray(0, this.used));
    this.used = 0;
  }
}

export class OutputWriter {
  readonly predictions: JsonlFile;
  readonly incremental: JsonlFile;
  private n = 0;

  constructor(predictions: BodyFile, incremental: BodyFile) {
    this.predictions = new JsonlFile(predictions);
    this.incremental = new JsonlFile(incremental);
  }

  /** Places one row (in the order rows leave the shuffle). */
  add = (row: Buffer): void => {
    const i = this.n++;
    if (i % 10 === 0) {
      this.incremental.add(row);
      if ((i / 10) % 2 === 1) return; // this one only in the incremental file
    }
    this.predictions.add(row);
  };

  get queued(): number {
    return this.predictions.queued + this.incremental.queued;
  }

  async flush(): Promise<void> {
    await this.predictions.flush();
    await this.incremental.flush();
  }
}
