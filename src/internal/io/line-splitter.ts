/**
 * Splits a byte stream into lines, holding only the unfinished one (as the
 * pieces it came in: a long answer spread over many chunks is joined once,
 * not once per chunk).
 */
export class LineSplitter {
  private pending: Buffer[] = [];

  *push(chunk: Buffer): Generator<Buffer> {
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
      const piece = chunk.subarray(start, nl);
      const line = this.pending.length ? Buffer.concat([...this.pending, piece]) : piece;
      this.pending = [];
      if (line.length > 0) yield line;
      start = nl + 1;
    }
    // Copied: the chunk it is a view of is not kept.
    if (start < chunk.length) this.pending.push(Buffer.from(chunk.subarray(start)));
  }

  /**
   * The same lines as push(), each handed to `visit` as the bytes it sits in
   * and its [start, end): no view and no generator step per line (a hot loop
   * over a 200 MB download made a Buffer object per row for nothing).
   */
  each(chunk: Buffer, visit: (bytes: Buffer, start: number, end: number) => void): void {
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
      if (this.pending.length) {
        const line = Buffer.concat([...this.pending, chunk.subarray(start, nl)]);
        this.pending = [];
        if (line.length > 0) visit(line, 0, line.length);
      } else if (nl > start) visit(chunk, start, nl);
      start = nl + 1;
    }
    if (start < chunk.length) this.pending.push(Buffer.from(chunk.subarray(start)));
  }

  end(): Buffer | undefined {
    const rest = this.pending.length ? Buffer.concat(this.pending) : undefined;
    this.pending = [];
    return rest;
  }
}
