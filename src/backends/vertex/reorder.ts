/**
 * Vertex writes a job's rows in an order unrelated to the input; the
 * demuxer later reads the results file in seq order, and a shuffled file
 * costs it one read per line where an ordered one streams through a block
 * (that was most of the Vertex path's extra CPU over the Developer API's).
 * This window puts lines back in spool order as they pass, within a bound
 * of bytes: a line whose turn has come is written at once, the others wait;
 * when the window is full the lowest waits no longer and the order moves
 * past it. Correctness never depends on the order (the demuxer indexes the
 * file by key); only the reads do.
 *
 * Waiting lines are copied into one slab outside the JS heap, and found by
 * position in a ring of slots (a line waits only while its position is less
 * than RING ahead of the order): a line costs one copy and a slot, where a
 * binary heap of parts cost a third of the fetch. When the slab's end is
 * reached, the waiting lines are moved to its front; the slab starts small
 * and doubles only while they fill more than half of it (up to twice the
 * bound): rows shuffled a little, as the emulator's are, keep it at a
 * megabyte or two, where a slab of twice the bound from the start was 8 MiB
 * of the peak.
 */

/** Positions a line may be ahead of the order and still wait (a farther one is written at once). */
const RING = 1 << 16;
const MASK = RING - 1;
/** A slot's length when no line waits in it. */
const EMPTY = -1;
/** The slab's first size. */
const SLAB_START = 1 << 20;

export interface LineSink {
  /** One whole line (a view that may be reused after the call: copy it). */
  put(line: Buffer): void;
}

export class ReorderWindow {
  /** Per spool position: a line of it was written. */
  private written: Uint8Array;
  /** The lowest position whose line has not been written (nor skipped past). */
  private next = 0;
  private slab: Buffer | undefined;
  private slabUsed = 0;
  /** Per ring slot (position & MASK): where its waiting line sits in the slab, and its length (EMPTY: none). */
  private slotOff: Int32Array | undefined;
  private slotLen: Int32Array | undefined;
  private count = 0;
  private bytes = 0;
  /** Sort keys of a compaction, kept for the next one. */
  private order = new Float64Array(0);

  constructor(
    size: number,
    private readonly out: LineSink,
    private readonly maxBytes: number,
  ) {
    this.written = new Uint8Array(size);
  }

  /** The line of spool position `pos` (a view that may be reused: a line that waits is copied). */
  add(pos: number, line: Buffer): void {
    if (pos < this.next || pos - this.next >= RING || line.length > this.maxBytes) {
      // Behind the order, too far ahead, or larger than the whole window: it cannot wait.
      this.write(pos, line);
      return;
    }
    if (pos === this.next) {
      this.write(pos, line);
      this.advance();
      return;
    }
    this.store(pos, line);
    while (this.bytes > this.maxBytes && this.count > 0) {
      // Full: the order moves up to the lowest waiting line (lines for the positions passed are written when they come).
      while (this.slotLen![this.next & MASK] === EMPTY) this.next++;
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
    while (this.count > 0) {
      while (this.slotLen![this.next & MASK] === EMPTY) this.next++;
      this.advance();
    }
    this.slabUsed = 0;
    this.next = 0;
    this.advance();
  }

  /** What a retry of the object rolls back to (the window must be flushed: nothing waiting). */
  snapshot(): { written: Uint8Array; next: number } {
    return { written: this.written.slice(), next: this.next };
  }

  restore(s: { written: Uint8Array; next: number }): void {
    this.slotLen?.fill(EMPTY);
    this.count = 0;
    this.bytes = 0;
    this.slabUsed = 0;
    this.written = s.written;
    this.next = s.next;
  }

  private write(pos: number, line: Buffer): void {
    this.written[pos] = 1;
    this.out.put(line);
  }

  /** Past every position already written, writing the waiting lines whose turn it is. */
  private advance(): void {
    const size = this.written.length;
    for (;;) {
      if (this.count > 0) {
        const slot = this.next & MASK;
        const n = this.slotLen![slot]!;
        if (n !== EMPTY) {
          const at = this.slotOff![slot]!;
          this.slotLen![slot] = EMPTY;
          this.count--;
          this.bytes -= n;
          this.write(this.next++, this.slab!.subarray(at, at + n));
          continue;
        }
      }
      if (this.next < size && this.written[this.next]) {
        this.next++;
        continue;
      }
      return;
    }
  }

  /** Copy a line into the slab (moving the waiting ones to its front when its end is reached) and its slot. */
  private store(pos: number, line: Buffer): void {
    if (!this.slab) {
      this.slab = Buffer.allocUnsafe(Math.min(SLAB_START, this.maxBytes * 2));
      this.slotOff = new Int32Array(RING);
      this.slotLen = new Int32Array(RING).fill(EMPTY);
    }
    const n = line.length;
    if (this.slabUsed + n > this.slab.length) {
      this.compact();
      // Waiting lines fill more than half of it: twice the room, so compactions stay rare.
      while ((this.slabUsed + n) * 2 > this.slab.length && this.slab.length < this.maxBytes * 2) this.grow();
    }
    const slot = pos & MASK;
    if (this.slotLen![slot] !== EMPTY) {
      // A second line for a waiting position (a success after an error: the demuxer prefers it) goes out at once.
      this.write(pos, line);
      return;
    }
    this.slab.set(line, this.slabUsed);
    this.slotOff![slot] = this.slabUsed;
    this.slotLen![slot] = n;
    this.slabUsed += n;
    this.count++;
    this.bytes += n;
  }

  /** A slab twice the size (at most twice the bound), holding what the old one held. */
  private grow(): void {
    const bigger = Buffer.allocUnsafe(Math.min(this.maxBytes * 2, this.slab!.length * 2));
    this.slab!.copy(bigger, 0, 0, this.slabUsed);
    this.slab = bigger;
  }

  /**
   * The waiting lines moved to the slab's front, in offset order (Buffer.copy
   * moves overlapping bytes correctly). Sorted as numbers `offset × RING +
   * slot` by the native typed-array sort (a comparator called from JS per
   * pair was most of a compaction), and lines that sit next to each other are
   * moved in one copy.
   */
  private compact(): void {
    const n = this.count;
    if (this.order.length < n) this.order = new Float64Array(Math.max(n, this.order.length * 2));
    const keys = this.order.subarray(0, n);
    let k = 0;
    for (let p = this.next; k < n; p++) {
      const s = p & MASK;
      if (this.slotLen![s] !== EMPTY) keys[k++] = this.slotOff![s]! * RING + s;
    }
    keys.sort();
    const slab = this.slab!;
    let to = 0;
    let runFrom = 0;
    let runEnd = 0;
    let runTo = 0;
    for (let i = 0; i < n; i++) {
      const key = keys[i]!;
      const s = key % RING;
      const from = (key - s) / RING;
      const len = this.slotLen![s]!;
      if (from !== runEnd) {
        if (runEnd > runFrom && runFrom !== runTo) slab.copy(slab, runTo, runFrom, runEnd);
        runFrom = from;
        runTo = to;
      }
      runEnd = from + len;
      this.slotOff![s] = to;
      to += len;
    }
    if (runEnd > runFrom && runFrom !== runTo) slab.copy(slab, runTo, runFrom, runEnd);
    this.slabUsed = to;
  }
}
