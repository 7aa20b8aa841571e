/**
 * Rows leave in an order unrelated to the input, as Vertex's do, through a
 * pool bounded by count and characters (answers with images are about a
 * megabyte each): flat memory whatever the job size.
 */
import type { Rng } from '../prng.js';

const MAX_ROWS = 1024;
const MAX_CHARS = 8 << 20;

export class ShufflePool {
  private readonly pool: string[] = [];
  private chars = 0;
  private readonly rng: Rng;
  private readonly emit: (row: string) => void;

  constructor(rng: Rng, emit: (row: string) => void) {
    this.rng = rng;
    this.emit = emit;
  }

  push(row: string): void {
    this.pool.push(row);
    this.chars += row.length;
    while (this.pool.length > 1 && (this.pool.length > MAX_ROWS || this.chars > MAX_CHARS)) this.release();
  }

  /** A random pooled row goes out (swap with the last, pop). */
  private release(): void {
    const p = this.pool;
    const i = Math.floor(this.rng() * p.length);
    const row = p[i]!;
    p[i] = p[p.length - 1]!;
    p.pop();
    this.chars -= row.length;
    this.emit(row);
  }

  end(): void {
    while (this.pool.length > 0) this.release();
  }
}
