/**
 * A set of recently seen ids with a size cap and a time to live: delivery is
 * at least once, so retries and duplicates are dropped by `webhook-id`, while
 * a receiver that runs for weeks keeps at most `max` ids. An id forgotten early
 * costs one extra GET of a batch, never a wrong result (events are hints).
 */
export class SeenSet {
  // Map keeps insertion order: the first entry is always the oldest.
  private readonly seenAt = new Map<string, number>();

  constructor(
    private readonly max: number,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** True the first time `id` is offered within the TTL; false for a repeat. */
  add(id: string): boolean {
    const t = this.now();
    this.expire(t);
    if (this.seenAt.has(id)) return false;
    this.seenAt.set(id, t);
    if (this.seenAt.size > this.max) this.seenAt.delete(this.seenAt.keys().next().value!);
    return true;
  }

  get size(): number {
    return this.seenAt.size;
  }

  private expire(t: number): void {
    for (const [id, at] of this.seenAt) {
      if (t - at < this.ttlMs) break;
      this.seenAt.delete(id);
    }
  }
}
