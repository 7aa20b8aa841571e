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

export class SpoolIndex {
  private seqs: Float64Array;
  /**
   * Where each key's bytes are: >= 0, at that index of `keys` (held);
   * negative, in the spool at offset -at - 1 (past the held bound); NaN, no key
   * the byte scan could locate.
   */
  private at: Float64Array;
  private lengths: Uint32Array;
  private keys = Buffer.allocUnsafe(64 << 10);
  private keysUsed = 0;
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

  /** The key's bytes copied into `keys` (grown by doubling up to HELD_KEY_BYTES): its index there; past that, where it is on disk. */
  private hold(line: Buffer, start: number, length: number, offset: number): number {
    const at = this.keysUsed;
    if (at + length > HELD_KEY_BYTES) return -offset - 1;
    if (at + length > this.keys.length) {
      const bigger = Buffer.allocUnsafe(Math.min(HELD_KEY_BYTES, Math.max(this.keys.length * 2, at + length)));
      this.keys.copy(bigger, 0, 0, at);
      this.keys = bigger;
    }
    this.keysUsed += line.copy(this.keys, at, start, start + length);
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
    if (at >= 0) return this.keys.subarray(at, at + length);
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
