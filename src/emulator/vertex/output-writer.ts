/**
 * The job's output directory being written: `predictions.jsonl` and one
 * `incremental_predictions-1.jsonl`. Worst case of VERTEX.md: every tenth row
 * also goes to the incremental file, half of those ONLY there (so a reader
 * must read every *.jsonl in the directory) and half in both (so it must keep
 * the first answer per key). Rows are gathered and written a batch at a time.
 */
import type { BodyFile } from '../gcs/body-file.js';

class JsonlFile {
  readonly file: BodyFile;
  rows = 0;
  private parts: string[] = [];
  private chars = 0;

  constructor(file: BodyFile) {
    this.file = file;
  }

  add(row: string): void {
    this.parts.push(row);
    this.chars += row.length + 1;
    this.rows++;
  }

  get queued(): number {
    return this.chars;
  }

  async flush(): Promise<void> {
    if (this.parts.length === 0) return;
    const buf = Buffer.from(this.parts.join('\n') + '\n', 'utf8');
    this.parts = [];
    this.chars = 0;
    await this.file.write(buf);
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
  add = (row: string): void => {
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
