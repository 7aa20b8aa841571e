/**
 * The job's output directory being written: `predictions.jsonl` and one
 * `incremental_predictions-1.jsonl`. Worst case of VERTEX.md: every tenth row
 * also goes to the incremental file, half of those ONLY there (so a reader
 * must read every *.jsonl in the directory) and half in both (so it must keep
 * the first answer per key). Rows are gathered and written a batch at a time,
 * each batch's write running while the next rows are answered.
 */
import type { BodyFile } from '../gcs/body-file.js';

/** Rows are copied into blocks of this size and written a block at a time. */
const BLOCK_BYTES = 1 << 20;
const NEWLINE = Buffer.from('\n');

class JsonlFile {
  readonly file: BodyFile;
  rows = 0;
  private sealed: Buffer[] = [];
  private block: Buffer = Buffer.allocUnsafe(BLOCK_BYTES);
  private spare: Buffer | undefined;
  private used = 0;
  private bytes = 0;
  /** The write of the last flush: rows are answered while it runs (awaiting each write left the thread idle). */
  private writing: Promise<void> = Promise.resolve();

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

  /**
   * The rows so far to the file, in the background: this waits for the
   * previous flush's write only (one write in flight, so what is queued stays
   * bounded), then starts this one. The block being filled goes with it and
   * is swapped for the spare, which comes back once written.
   */
  async flush(): Promise<void> {
    await this.writing;
    const out = this.sealed;
    this.sealed = [];
    this.bytes = 0;
    let lent: Buffer | undefined;
    if (this.used > 0) {
      lent = this.block;
      out.push(lent.subarray(0, this.used));
      this.block = this.spare ?? Buffer.allocUnsafe(BLOCK_BYTES);
      this.spare = undefined;
      this.used = 0;
    }
    if (out.length === 0) return;
    this.writing = (async () => {
      for (const b of out) await this.file.write(b);
      this.spare = lent;
    })();
    // Awaited by the next flush or by drain(); a failure must not be unhandled meanwhile.
    this.writing.catch(() => undefined);
  }

  /** Until every row added is in the file. */
  async drain(): Promise<void> {
    await this.flush();
    await this.writing;
  }

  /** Until no write is in flight, whatever its outcome (a job that failed: before its files go). */
  settle(): Promise<void> {
    return this.writing.catch(() => undefined);
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

  /** Until every row placed is in its file (before the files are closed). */
  async drain(): Promise<void> {
    await this.predictions.drain();
    await this.incremental.drain();
  }

  async settle(): Promise<void> {
    await this.predictions.settle();
    await this.incremental.settle();
  }
}
