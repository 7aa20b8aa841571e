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

  end(): Buffer | undefined {
    const rest = this.pending.length ? Buffer.concat(this.pending) : undefined;
    this.pending = [];
    return rest;
  }
}
