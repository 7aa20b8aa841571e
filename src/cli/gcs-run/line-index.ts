/**
 * One pass over an input object (streamed, one line in memory): does it fit
 * a Vertex job as it is, and if so, the index that puts its unordered output
 * rows back in line order. On disk, per object: `keys.jsonl` (each line's key
 * as it goes into OUT, one JSON per line: the line's `key`, else its 0-based
 * line number as the CLI keys a line without one) and `index.bin` (49 bytes
 * a line: flags, then the hashes of its request's canonical form, of its
 * top-level `key`, of its `labels.gbs_seq`). Lines are checked as the library
 * checks records (RequestLineMaker with Vertex's refused fields): an object
 * with any line the library would not send as it is (invalid, the SDK's
 * `config` shape, blank lines) does not fit, and goes the split path.
 */
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { vertexWire } from '../../backends/vertex/codec.js';
import type { Gcs, GcsObject } from '../../backends/vertex/gcs.js';
import { RequestLineMaker, SourceLine, type InvalidInput } from '../../stages/to-request-line.js';
import { readJsonl } from '../jsonl-reader.js';
import { HASH_BYTES, keyHash, labelHash, requestHash } from './canonical.js';
import { objectReadable } from './object-stream.js';

export const ENTRY_BYTES = 1 + 3 * HASH_BYTES;
export const HAS_KEY = 1;
export const HAS_LABEL = 2;
export const KEYS_FILE = 'keys.jsonl';
export const INDEX_FILE = 'index.bin';

export interface JobLimits {
  maxLines: number;
  maxBytes: number;
}

export type ScanVerdict =
  | { fits: true; lines: number }
  /** `invalid`: the first bad line's message (it names the line and key). */
  | { fits: false; why: string; invalid?: string };

/** Appends to a file through a 64 KiB buffer; fsynced at close. */
class BufferedFile {
  private readonly fd: number;
  private buf = Buffer.allocUnsafe(64 << 10);
  private used = 0;
  constructor(path: string) {
    this.fd = openSync(path, 'w');
  }
  write(b: Buffer): void {
    if (this.used + b.length > this.buf.length) this.flush();
    if (b.length > this.buf.length) writeSync(this.fd, b);
    else this.used += b.copy(this.buf, this.used);
  }
  private flush(): void {
    if (this.used) writeSync(this.fd, this.buf, 0, this.used);
    this.used = 0;
  }
  close(sync: boolean): void {
    try {
      this.flush();
      if (sync) fsyncSync(this.fd);
    } finally {
      closeSync(this.fd);
    }
  }
}

const ZERO_HASH = Buffer.alloc(HASH_BYTES);

/** Scan `obj`, writing its index into `dir` (which must exist). */
export async function scanObject(gcs: Gcs, obj: GcsObject, dir: string, limits: JobLimits, signal?: AbortSignal): Promise<ScanVerdict> {
  if (obj.size > limits.maxBytes) return { fits: false, why: `${obj.size} bytes, over ${limits.maxBytes} a job takes` };
  const uri = `gs://${obj.bucket}/${obj.name}`;
  const maker = new RequestLineMaker({ wire: vertexWire, onInvalid: 'emit', task: 'generate' });
  const records = readJsonl(objectReadable(gcs, obj, signal), { name: uri });
  const keys = new BufferedFile(join(dir, KEYS_FILE));
  const index = new BufferedFile(join(dir, INDEX_FILE));
  let lines = 0;
  let verdict: ScanVerdict | undefined;
  try {
    for await (const rec of records as AsyncIterable<SourceLine | InvalidInput>) {
      const seq = lines++;
      if (lines > limits.maxLines) {
        verdict = { fits: false, why: `more than ${limits.maxLines} lines` };
        break;
      }
      const rl = maker.make(rec, seq);
      if (rl.invalid) {
        verdict = { fits: false, why: 'some lines are not valid requests', invalid: rl.invalid.message };
        break;
      }
      const parsed = JSON.parse((rec as SourceLine).bytes.toString('utf8')) as { key?: unknown; request: Record<string, unknown> };
      if (parsed.request.config !== undefined) {
        verdict = { fits: false, why: "some requests are in the SDK's {contents, config} shape, which the service does not take as it is" };
        break;
      }
      const label = (parsed.request.labels as Record<string, unknown> | undefined)?.gbs_seq;
      const flags = (parsed.key !== undefined ? HAS_KEY : 0) | (typeof label === 'string' ? HAS_LABEL : 0);
      index.write(Buffer.from([flags]));
      index.write(requestHash(parsed.request));
      index.write(parsed.key !== undefined ? keyHash(parsed.key) : ZERO_HASH);
      index.write(typeof label === 'string' ? labelHash(label) : ZERO_HASH);
      keys.write(Buffer.from(`${JSON.stringify(rl.key)}\n`));
    }
    if (!verdict && records.stats.blankLines > 0) {
      verdict = { fits: false, why: `blank lines (the first is line ${records.stats.firstBlankLine})` };
    }
    if (!verdict && lines === 0) verdict = { fits: false, why: 'no lines' };
  } finally {
    records.destroy();
    keys.close(!verdict);
    index.close(!verdict);
  }
  return verdict ?? { fits: true, lines };
}

/** Which hash of a line: its request's, its top-level key's, its label's. */
export type Tier = 0 | 1 | 2;

/**
 * The index read back for matching: per tier, the lines that have that hash
 * sorted by (hash, line), so the lines of one hash are a range found by
 * binary search. Top-level keys that repeat within the object are left out
 * (a key that is not unique says nothing).
 */
export class MatchIndex {
  private readonly sorted: Uint32Array[] = [];

  private constructor(
    private readonly entries: Buffer,
    readonly lines: number,
  ) {
    for (const tier of [0, 1, 2] as const) {
      const want = tier === 1 ? HAS_KEY : tier === 2 ? HAS_LABEL : 0;
      const ids: number[] = [];
      for (let i = 0; i < lines; i++) if (want === 0 || entries[i * ENTRY_BYTES]! & want) ids.push(i);
      ids.sort((a, b) => this.cmp(tier, a, b) || a - b);
      let list = Uint32Array.from(ids);
      if (tier === 1) list = list.filter((id, j) => (j === 0 || this.cmp(1, list[j - 1]!, id) !== 0) && (j === list.length - 1 || this.cmp(1, list[j + 1]!, id) !== 0));
      this.sorted[tier] = list;
    }
  }

  static load(dir: string, lines: number): MatchIndex {
    return new MatchIndex(readFileSync(join(dir, INDEX_FILE)), lines);
  }

  private at(tier: Tier, line: number): number {
    return line * ENTRY_BYTES + 1 + tier * HASH_BYTES;
  }

  private cmp(tier: Tier, a: number, b: number): number {
    const x = this.at(tier, a);
    const y = this.at(tier, b);
    return this.entries.compare(this.entries, y, y + HASH_BYTES, x, x + HASH_BYTES);
  }

  /** The lines whose tier hash is `h`, in line order. */
  find(tier: Tier, h: Buffer): Uint32Array {
    const list = this.sorted[tier]!;
    const vs = (line: number) => {
      const o = this.at(tier, line);
      return this.entries.compare(h, 0, HASH_BYTES, o, o + HASH_BYTES);
    };
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (vs(list[mid]!) < 0) lo = mid + 1;
      else hi = mid;
    }
    let end = lo;
    while (end < list.length && vs(list[end]!) === 0) end++;
    return list.subarray(lo, end);
  }
}
