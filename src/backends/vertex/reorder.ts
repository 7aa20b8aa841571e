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
 *
 * Waiting lines are copied into one slab of twice the bound, outside the JS
 * heap, and the heap holds numbers only: a Buffer per waiting line (nearly
 * every line waits) was young-generation churn that survived scavenges. When
 * the slab's end is reached, the waiting lines (at most the bound) are moved
 * to its front.
 */

/**
 * `src` into `dst` at `at`; the index past it. Parts of a line are mostly a
 * few bytes (a key, `{"key":`): a byte loop for those beats the native
 * copy's call, which was a tenth of the fetch's CPU at five calls a line.
 */
export function copyInto(src: Buffer, dst: Buffer, at: number): number {
  const n = src.length;
  if (n > 32) return at + src.copy(dst, at);
  for (let i = 0; i < n; i++) dst[at + i] = src[i]!;
  return at + n;
}

export interface LineSink {
  put(...parts: Buffer[]): void;
}

export class ReorderWindow {
  /** Per spool position: a line of it was written. */
  private written: Uint8Array;
  /** The lowest position whose line has not been written (nor skipped past). */
  private next = 0;
  private slab: Buffer | undefined;
  private slabUsed = 0;
  // The heap: parallel arrays of position, slab offset and length.
  private pos = new Float64Array(256);
  private off = new Float64Array(256);
  private len = new Uint32Array(256);
  private count = 0;
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
      this.write(pos, parts);
      return;
    }
    if (pos === this.next) {
      this.write(pos, parts);
      this.advance();
      return;
    }
    let n = 0;
    for (const p of parts) n += p.length;
    if (n > this.maxBytes) {
      // Larger than the whole window: it cannot wait.
      this.write(pos, parts);
      return;
    }
    this.push(pos, parts, n);
    while (this.bytes > this.maxBytes && this.count > 0) {
      const p = this.popTo();
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
    while (this.count > 0) this.popTo();
    this.slabUsed = 0;
    this.next = 0;
    this.advance();
  }

  /** What a retry of the object rolls back to (the window must be flushed: nothing waiting). */
  snapshot(): { written: Uint8Array; next: number } {
    return { written: this.written.slice(), next: this.next };
  }

  restore(s: { written: Uint8Array; next: number }): void {
    this.count = 0;
    this.bytes = 0;
    this.slabUsed = 0;
    this.written = s.written;
    this.next = s.next;
  }

  private write(pos: number, parts: Buffer[]): void {
    this.written[pos] = 1;
    this.out.put(...parts);
  }

  /** Past every position already written, writing the waiting lines whose turn it is. */
  private advance(): void {
    for (;;) {
      if (this.count > 0 && this.pos[0] === this.next) {
        this.popTo();
        continue;
      }
      if (this.next < this.written.length && this.written[this.next]) {
        this.next++;
        continue;
      }
      return;
    }
  }

  /** Copy a line into the slab (moving the waiting ones to its front when its end is reached); its offset. */
  private store(parts: Buffer[], n: number): number {
    this.slab ??= Buffer.allocUnsafe(this.maxBytes * 2);
    if (this.slabUsed + n > this.slab.length) this.compact();
    const at = this.slabUsed;
    for (const p of parts) this.slabUsed = copyInto(p, this.slab, this.slabUsed);
    return at;
  }

  /** The waiting lines moved to the slab's front, in offset order (Buffer.copy moves overlapping bytes correctly). */
  private compact(): void {
    const order = Array.from({ length: this.count }, (_, i) => i).sort((a, b) => this.off[a]! - this.off[b]!);
    let to = 0;
    for (const i of order) {
      const from = this.off[i]!;
      const n = this.len[i]!;
      if (from !== to) this.slab!.copy(this.slab!, to, from, from + n);
      this.off[i] = to;
      to += n;
    }
    this.slabUsed = to;
  }

  // A binary min-heap by position, in parallel typed arrays.
  private push(pos: number, parts: Buffer[], n: number): void {
    if (this.count === this.pos.length) {
      const grow = <T extends Float64Array | Uint32Array>(a: T, make: (k: number) => T): T => {
        const b = make(a.length * 2);
        b.set(a);
        return b;
      };
      this.pos = grow(this.pos, (k) => new Float64Array(k));
      this.off = grow(this.off, (k) => new Float64Array(k));
      this.len = grow(this.len, (k) => new Uint32Array(k));
    }
    const off = this.store(parts, n);
    this.bytes += n;
    let i = this.count++;
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (this.pos[up]! <= pos) break;
      this.pos[i] = this.pos[up]!;
      this.off[i] = this.off[up]!;
      this.len[i] = this.len[up]!;
      i = up;
    }
    this.pos[i] = pos;
    this.off[i] = off;
    this.len[i] = n;
  }

  /** The lowest waiting line written out; its position. */
  private popTo(): number {
    const p = this.pos[0]!;
    const o = this.off[0]!;
    const n = this.len[0]!;
    this.written[p] = 1;
    this.out.put(this.slab!.subarray(o, o + n));
    this.bytes -= n;
    const last = --this.count;
    if (last > 0) {
      const lp = this.pos[last]!;
      const lo = this.off[last]!;
      const ln = this.len[last]!;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= last) break;
        const r = l + 1;
        const c = r < last && this.pos[r]! < this.pos[l]! ? r : l;
        if (this.pos[c]! >= lp) break;
        this.pos[i] = this.pos[c]!;
        this.off[i] = this.off[c]!;
        this.len[i] = this.len[c]!;
        i = c;
      }
      this.pos[i] = lp;
      this.off[i] = lo;
      this.len[i] = ln;
    }
    return p;
  }
}
