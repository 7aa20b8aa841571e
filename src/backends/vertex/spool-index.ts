/**
 * The wire key of a seq, read back from a part's spool (its request lines, in
 * seq order, key first) for output rows that carry only the echoed
 * `labels.gbs_seq`. Only a small index is held: per line its seq and where
 * its key string sits in the file (8+8+4+4 bytes; a job has at most 200,000
 * lines), and the keys' bytes themselves up to HELD_KEY_BYTES in all (a
 * read per row was a tenth of the fetch's CPU); past that, a key's bytes are
 * read from disk when a row asks for them.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { forEachLineAsync } from '../../internal/io/lines.js';
import { readLineKey } from '../../internal/wire/result-line.js';

/** Key bytes held in memory per spool at most (200,000 keys of 40 bytes); the rest is read from disk. */
const HELD_KEY_BYTES = 8 << 20;
/** `held` of a key not in memory. */
const ON_DISK = 0xffffffff;

export class SpoolIndex {
  private seqs = new Float64Array(1024);
  private offsets = new Float64Array(1024);
  private lengths = new Uint32Array(1024);
  /** Where each key's bytes start in `keys`, or ON_DISK. */
  private held = new Uint32Array(1024);
  private keys = Buffer.allocUnsafe(64 << 10);
  private keysUsed = 0;
  /** Lines indexed. */
  size = 0;
  private fd: number | undefined;

  private constructor(private readonly path: string) {}

  static async build(spoolPath: string): Promise<SpoolIndex> {
    const index = new SpoolIndex(spoolPath);
    await forEachLineAsync(spoolPath, (line, offset) => {
      const k = readLineKey(line);
      if (!k) return;
      // A key found by the byte scan is located exactly; a parsed one (not expected in a spool) is re-serialised.
      if (k.keyStart >= 0) index.add(k.seq, offset + k.keyStart, k.keyEnd - k.keyStart, line, k.keyStart);
      else index.add(k.seq, -1, 0);
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
      this.offsets = grow(this.offsets, (n) => new Float64Array(n));
      this.lengths = grow(this.lengths, (n) => new Uint32Array(n));
      this.held = grow(this.held, (n) => new Uint32Array(n));
    }
    this.seqs[this.size] = seq;
    this.offsets[this.size] = offset;
    this.lengths[this.size] = length;
    this.held[this.size] = line ? this.hold(line, keyStart, length) : ON_DISK;
    this.size++;
  }

  /** The key's bytes copied into `keys` (grown by doubling up to HELD_KEY_BYTES); ON_DISK past that. */
  private hold(line: Buffer, start: number, length: number): number {
    const at = this.keysUsed;
    if (at + length > HELD_KEY_BYTES) return ON_DISK;
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
    const offset = this.offsets[position]!;
    if (offset < 0) return undefined;
    const at = this.held[position]!;
    if (at !== ON_DISK) return this.keys.subarray(at, at + length);
    this.fd ??= openSync(this.path, 'r');
    const buf = Buffer.allocUnsafe(length);
    const n = readSync(this.fd, buf, 0, length, offset);
    return n === length ? buf : undefined;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
