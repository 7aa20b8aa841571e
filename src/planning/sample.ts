/**
 * A uniform sample of request lines over an input of unknown length
 * (reservoir sampling, Algorithm R): memory is the sample, whatever the
 * input. Seeded, so the same input samples the same lines.
 */
export interface SampledLine {
  line: Buffer;
  estimatedTokens: number;
}

export class LineSample {
  private readonly kept: SampledLine[] = [];
  private seen = 0;
  private state: number;

  constructor(private readonly size: number, seed = 0x9e3779b9) {
    this.state = seed >>> 0;
  }

  /** mulberry32: a small, fast, seeded PRNG. */
  private random(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  offer(line: Buffer, estimatedTokens: number): void {
    const i = this.seen++;
    if (this.size === 0) return;
    if (i < this.size) this.kept.push({ line: Buffer.from(line), estimatedTokens });
    else {
      const j = Math.floor(this.random() * (i + 1));
      if (j < this.size) this.kept[j] = { line: Buffer.from(line), estimatedTokens };
    }
  }

  lines(): readonly SampledLine[] {
    return this.kept;
  }
}
