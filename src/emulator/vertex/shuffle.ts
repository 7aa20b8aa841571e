/**
 * Rows leave in an order unrelated to the input, as Vertex's do, through a
 * pool bounded by count and bytes (answers with images are about a megabyte
 * each): flat memory whatever the job size. Rows wait as UTF-8 bytes, not
 * strings: a thousand pooled strings outlived the young generation and made
 * the emulator's Vertex jobs spend a tenth of their CPU in garbage collection.
 */
import type { Rng } from '../prng.js';

const MAX_ROWS = 1024;
const MAX_BYTES = 8 << 20;

export class ShufflePool {
  private readonly pool: Buffer[] = [];
  private bytes = 0;
  private readonly rng: Rng;
  private readonly emit: (row: Buffer) => void;

  constructor(rng: Rng, emit: (row: Buffer) => void) {
    this.rng = rng;
    this.emit = emit;
  }

  /** A row, without its newline. */
  push(row: string): void {
    const b = Buffer.from(row, 'utf8');
    this.pool.push(b);
    this.bytes += b.length;
    while (this.pool.length > 1 && (this.pool.length > MAX_ROWS || this.bytes > MAX_BYTES)) this.release();
  }

  /** A random pooled row goes out (swap with the last, pop). */
  private release(): void {
    const p = this.pool;
    const i = Math.floor(this.rng() * p.length);
    const row = p[i]!;
    p[i] = p[p.length - 1]!;
    p.pop();
    this.bytes -= row.length;
    this.emit(row);
  }

  end(): void {
    while (this.pool.length > 0) this.release();
  }
}
