/**
 * The wire key of a seq, read back from a part's spool (its request lines, in
 * seq order, key first) for output rows that carry only the echoed
 * `labels.gbs_seq`. Only a small index is held: per line its seq and where
 * its key string sits (8+8+4 bytes; a job has at most 200,000 lines), and
 * the keys' bytes themselves up to HELD_KEY_BYTES in all (a read per row was
 * a tenth of the fetch's CPU); past that, a key's bytes are read from disk
 * when a row asks for them.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { forEachLineAsync } from '../../internal/io/lines.js';
import { readLineKey } from '../../internal/wire/result-line.js';

/** Key bytes held in memory per spool at most (200,000 keys of 40 bytes); the rest is read from disk. */
const HELD_KEY_BYTES = 8 << 20;
/** Entries before the first growth when the line count is not known. */
const FIRST_SIZE = 1024;
/** Keys are held in slabs of this size: slabs, not one buffer doubled, so no old copy is left as garbage. */
const SLAB_BYTES = 256 << 10;

export class SpoolIndex {
  private seqs: Float64Array;
  /**
   * Where each key's bytes are: >= 0, at that index of the held slabs (slab
   * number × SLAB_BYTES + offset in it);
   * negative, in the spool at offset -at - 1 (past the held bound); NaN, no key
   * the byte scan could locate.
   */
  private at: Float64Array;
  private lengths: Uint32Array;
  private readonly slabs: Buffer[] = [];
  /** Bytes used in the last slab. */
  private slabUsed = SLAB_BYTES;
  private held = 0;
  /** Lines indexed. */
  size = 0;
  private fd: number | undefined;

  /** `expected`: the spool's line count when known, so the arrays are made once at their size (growing them left their old copies as garbage at the fetch's peak). */
  private constructor(
    private readonly path: string,
    expected: number,
  ) {
    this.seqs = new Float64Array(expected);
    this.at = new Float64Array(expected);
    this.lengths = new Uint32Array(expected);
  }

  static async build(spoolPath: string, expectedLines?: number): Promise<SpoolIndex> {
    const index = new SpoolIndex(spoolPath, Math.max(1, expectedLines ?? FIRST_SIZE));
    await forEachLineAsync(spoolPath, (line, offset) => {
      const k = readLineKey(line);
      if (!k) return;
      // A key found by the byte scan is located exactly; a parsed one (not expected in a spool) is re-serialised.
      if (k.keyStart >= 0) index.add(k.seq, offset + k.keyStart, k.keyEnd - k.keyStart, line, k.keyStart);
      else index.add(k.seq, NaN, 0);
    });
    return index;
  }

  private add(seq: number, offset: number, length: number, line?: Buffer, keyStart = 0): void {
    if (this.size === this.seqs.length) {
      const grow = <T extends Float64Array | Uint32Array>(a: T, make: (n: number) => T): T => {
        const b = make(a.length * 2);
        b.set(a);
        return b;
      };
      this.seqs = grow(this.seqs, (n) => new Float64Array(n));
      this.at = grow(this.at, (n) => new Float64Array(n));
      this.lengths = grow(this.lengths, (n) => new Uint32Array(n));
    }
    this.seqs[this.size] = seq;
    this.lengths[this.size] = length;
    this.at[this.size] = line ? this.hold(line, keyStart, length, offset) : NaN;
    this.size++;
  }

  /** The key's bytes copied into the slabs (up to HELD_KEY_BYTES in all): their index there; past that (or a key longer than a slab), where it is on disk. */
  private hold(line: Buffer, start: number, length: number, offset: number): number {
    if (this.held + length > HELD_KEY_BYTES || length > SLAB_BYTES) return -offset - 1;
    if (this.slabUsed + length > SLAB_BYTES) {
      this.slabs.push(Buffer.allocUnsafe(SLAB_BYTES));
      this.slabUsed = 0;
    }
    const at = (this.slabs.length - 1) * SLAB_BYTES + this.slabUsed;
    const slab = this.slabs[this.slabs.length - 1]!;
    // Keys are a few bytes: a byte loop beats the native copy's call (it was a tenth of building the index).
    if (length <= 64) for (let i = 0; i < length; i++) slab[this.slabUsed + i] = line[start + i]!;
    else line.copy(slab, this.slabUsed, start, start + length);
    this.slabUsed += length;
    this.held += length;
    return at;
  }

  /** The line's position (0-based) of a seq, or -1 when this spool has no such line. */
  position(seq: number): number {
    let lo = 0;
    let hi = this.size - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const s = this.seqs[mid]!;
      if (s === seq) return mid;
      if (s < seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /**
   * The key of the line at `position` as a JSON string literal (quotes
   * included), held or read from the spool. A held one is a view of the
   * index's memory: copy it before the index is closed.
   */
  keyJson(position: number): Buffer | undefined {
    const length = this.lengths[position]!;
    const at = this.at[position]!;
    if (Number.isNaN(at)) return undefined;
    if (at >= 0) {
      const from = at % SLAB_BYTES;
      return this.slabs[Math.floor(at / SLAB_BYTES)]!.subarray(from, from + length);
    }
    this.fd ??= openSync(this.path, 'r');
    const buf = Buffer.allocUnsafe(length);
    const n = readSync(this.fd, buf, 0, length, -at - 1);
    return n === length ? buf : undefined;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
