/**
 * Counts non-empty JSONL lines as bytes stream past, so an uploaded file
 * knows its request count (for batchStats and maxEnqueuedRequests) without
 * a second pass over a 2 GB file.
 */
const NL = 0x0a;

export class LineCounter {
  lines = 0;
  /** Bytes seen since the last newline (a line is "open"). */
  private open = false;

  push(chunk: Uint8Array): void {
    let start = 0;
    for (;;) {
      const i = chunk.indexOf(NL, start);
      if (i < 0) break;
      if (i > start || this.open) this.lines++;
      this.open = false;
      start = i + 1;
    }
    if (start < chunk.length) this.open = true;
  }

  /** Lines including a last one with no trailing newline. */
  total(): number {
    return this.lines + (this.open ? 1 : 0);
  }
}
