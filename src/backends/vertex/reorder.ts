/**
 * Vertex writes a job's rows in an order unrelated to the input; the
 * demuxer later reads the results file in seq order, and a shuffled file
 * costs it one read per line where an ordered one streams through a block
 * (that was most of the Vertex path's extra CPU over the Developer API's).
 * This window puts lines back in spool order as they pass, within a bound
 * of bytes: a line whose turn has come is written at once, the others wait
 * in a heap by position; when the window is full the lowest waits no longer
 * and the order moves past it. Correctness never depends on the order (the
 * demuxer indexes the file by key); only the reads do.
 */

export interface LineSink {
  put(...parts: Buffer[]): void;
}

export class ReorderWindow {
  /** Per spool position: a line of it was written. */
  private written: Uint8Array;
  /** The lowest position whose line has not been written (nor skipped past). */
  private next = 0;
  private readonly positions: number[] = [];
  private readonly lines: Buffer[] = [];
  private bytes = 0;

  constructor(
    size: number,
    private readonly out: LineSink,
    private readonly maxBytes: number,
  ) {
    this.written = new Uint8Array(size);
  }

  /** The line of spool position `pos`, made of `parts` (views of a reused chunk may be among them: a line that waits is copied). */
  add(pos: number, ...parts: Buffer[]): void {
    if (pos < this.next) {
      this.write(pos, ...parts);
      return;
    }
    if (pos === this.next) {
      this.write(pos, ...parts);
      this.advance();
      return;
    }
    this.push(pos, parts.length === 1 ? Buffer.from(parts[0]!) : Buffer.concat(parts));
    while (this.bytes > this.maxBytes && this.positions.length > 0) {
      const [p, l] = this.pop();
      this.write(p, l);
      if (p > this.next) this.next = p;
      this.advance();
    }
  }

  /**
   * Everything waiting, in order (the end of one output object), and the
   * order starts again from the first position not written: the next
   * object's rows (those an incremental file alone holds) come out in order
   * among themselves.
   */
  flush(): void {
    while (this.positions.length > 0) this.write(...this.pop());
    this.next = 0;
    this.advance();
  }

  /** What a retry of the object rolls back to (the window must be flushed: nothing waiting). */
  snapshot(): { written: Uint8Array; next: number } {
    return { written: this.written.slice(), next: this.next };
  }

  restore(s: { written: Uint8Array; next: number }): void {
    this.positions.length = 0;
    this.lines.length = 0;
    this.bytes = 0;
    this.written = s.written;
    this.next = s.next;
  }

  private write(pos: number, ...parts: Buffer[]): void {
    this.written[pos] = 1;
    this.out.put(...parts);
  }

  /** Past every position already written, writing the waiting lines whose turn it is. */
  private advance(): void {
    for (;;) {
      if (this.positions.length > 0 && this.positions[0] === this.next) {
        const [p, l] = this.pop();
        this.write(p, l);
        continue;
      }
      if (this.next < this.written.length && this.written[this.next]) {
        this.next++;
        continue;
      }
      return;
    }
  }

  // A binary min-heap by position, in two parallel arrays.
  private push(pos: number, line: Buffer): void {
    const ps = this.positions;
    const ls = this.lines;
    let i = ps.length;
    ps.push(pos);
    ls.push(line);
    this.bytes += line.length;
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (ps[up]! <= pos) break;
      ps[i] = ps[up]!;
      ls[i] = ls[up]!;
      i = up;
    }
    ps[i] = pos;
    ls[i] = line;
  }

  private pop(): [number, Buffer] {
    const ps = this.positions;
    const ls = this.lines;
    const top: [number, Buffer] = [ps[0]!, ls[0]!];
    this.bytes -= top[1].length;
    const lastP = ps.pop()!;
    const lastL = ls.pop()!;
    const n = ps.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && ps[r]! < ps[l]! ? r : l;
        if (ps[c]! >= lastP) break;
        ps[i] = ps[c]!;
        ls[i] = ls[c]!;
        i = c;
      }
      ps[i] = lastP;
      ls[i] = lastL;
    }
    return top;
  }
}
