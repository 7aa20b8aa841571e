/**
 * The output faults: drop some results, duplicate some, shuffle the order.
 * Shuffling uses a bounded pool (a random pooled line leaves as each new one
 * enters), so a 2 GB job still runs in flat memory.
 */
import type { Rng } from './prng.js';

const POOL = 4096;

export interface MixPlan {
  shuffle: boolean;
  /** 0-based result ordinals to leave out. */
  drop: ReadonlySet<number>;
  /** 0-based result ordinals to emit twice (the copy goes out at the end). */
  duplicate: ReadonlySet<number>;
}

export class ResultMixer<T> {
  private n = 0;
  private readonly pool: T[] = [];
  private readonly copies: T[] = [];
  private readonly rng: Rng;
  private readonly plan: MixPlan;
  private readonly emit: (item: T) => void;

  constructor(rng: Rng, plan: MixPlan, emit: (item: T) => void) {
    this.rng = rng;
    this.plan = plan;
    this.emit = emit;
  }

  push(item: T): void {
    const i = this.n++;
    if (this.plan.drop.has(i)) return;
    if (this.plan.duplicate.has(i)) this.copies.push(item);
    this.place(item);
  }

  private place(item: T): void {
    if (!this.plan.shuffle) return this.emit(item);
    if (this.pool.length < POOL) {
      this.pool.push(item);
      return;
    }
    const j = Math.floor(this.rng() * POOL);
    this.emit(this.pool[j]!);
    this.pool[j] = item;
  }

  end(): void {
    for (const c of this.copies) this.place(c);
    const p = this.pool;
    for (let i = p.length - 1; i > 0; i--) {
      const j = Math.floor(this.rng() * (i + 1));
      [p[i], p[j]] = [p[j]!, p[i]!];
    }
    for (const item of p) this.emit(item);
    p.length = 0;
  }
}
