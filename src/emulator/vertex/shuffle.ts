/**
 * Rows leave in an order unrelated to the input, as Vertex's do, through a
 * pool bounded by count and bytes (answers with images are about a megabyte
 * each): flat memory whatever the job size.
 *
 * Rows wait as UTF-8 bytes in one slab, found by offset, not as strings nor
 * as a Buffer each: a thousand pooled strings outlived the young generation,
 * and a Buffer per row kept the 8 KiB pool blocks they share alive until
 * their last row left (at random), so both made the emulator's Vertex jobs
 * spend a tenth of their CPU in garbage collection. When the slab is used up
 * to its end, the rows still waiting are packed into a second one.
 */
import type { Rng } from '../prng.js';

const MAX_ROWS = 1024;
const MAX_BYTES = 8 << 20;
const MIN_SLAB_BYTES = 1 << 20;
/** Rows longer than this (in UTF-16 units; 3 bytes each at most in UTF-8) wait as their own Buffer. */
const OWN_BUFFER_CHARS = 1 << 20;

export class ShufflePool {
  /** Per waiting row: its start in the slab (negative: -1 - its id in `own`) and its length. */
  private readonly starts: number[] = [];
  private readonly lengths: number[] = [];
  private readonly own = new Map<number, Buffer>();
  private nextOwn = 0;
  private slab: Buffer = Buffer.allocUnsafe(0);
  private spare: Buffer | undefined;
  private top = 0;
  /** Bytes of waiting rows: all of them, and those in the slab. */
  private bytes = 0;
  private slabBytes = 0;
  private readonly rng: Rng;
  private readonly emit: (row: Buffer) => void;

  /** `emit` gets a view of the slab: it copies the bytes before it returns (the slab is written again). */
  constructor(rng: Rng, emit: (row: Buffer) => void) {
    this.rng = rng;
    this.emit = emit;
  }

  /** A row, without its newline. */
  push(row: string): void {
    let n: number;
    if (row.length > OWN_BUFFER_CHARS) {
      const b = Buffer.from(row, 'utf8');
      const id = this.nextOwn++;
      this.own.set(id, b);
      this.starts.push(-1 - id);
      n = b.length;
    } else {
      if (this.top + row.length * 3 > this.slab.length) this.pack(row.length * 3);
      n = this.slab.write(row, this.top);
      this.starts.push(this.top);
      this.top += n;
      this.slabBytes += n;
    }
    this.lengths.push(n);
    this.bytes += n;
    while (this.starts.length > 1 && (this.starts.length > MAX_ROWS || this.bytes > MAX_BYTES)) this.release();
  }

  /** A random pooled row goes out (swap with the last, pop). */
  private release(): void {
    const i = Math.floor(this.rng() * this.starts.length);
    const start = this.starts[i]!;
    const n = this.lengths[i]!;
    this.starts[i] = this.starts[this.starts.length - 1]!;
    this.lengths[i] = this.lengths[this.lengths.length - 1]!;
    this.starts.pop();
    this.lengths.pop();
    this.bytes -= n;
    if (start >= 0) {
      this.slabBytes -= n;
      this.emit(this.slab.subarray(start, start + n));
      return;
    }
    const id = -1 - start;
    const b = this.own.get(id)!;
    this.own.delete(id);
    this.emit(b);
  }

  /**
   * The waiting rows packed at the start of the other slab, sized at least
   * twice what they and the next row need (so packing copies at most one byte
   * per byte pushed, and a job of small rows touches a few MiB, not MAX_BYTES).
   */
  private pack(need: number): void {
    let size = MIN_SLAB_BYTES;
    while (size < 2 * (this.slabBytes + need)) size *= 2;
    const to = this.spare?.length === size ? this.spare : Buffer.allocUnsafe(size);
    let top = 0;
    for (let i = 0; i < this.starts.length; i++) {
      const start = this.starts[i]!;
      if (start < 0) continue;
      const n = this.lengths[i]!;
      this.slab.copy(to, top, start, start + n);
      this.starts[i] = top;
      top += n;
    }
    this.spare = this.slab.length === size ? this.slab : undefined;
    this.slab = to;
    this.top = top;
  }

  end(): void {
    while (this.starts.length > 0) this.release();
  }
}
