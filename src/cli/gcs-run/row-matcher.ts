/**
 * An as-is job's output rows → the object's results in line order. Rows are
 * unordered, repeated (incremental files), and in the worst case carry no
 * top-level key, only the request re-serialised. A row finds its line by,
 * in turn: its echoed top-level `key` when that key is unique in the
 * object; the echoed request's `labels.gbs_seq` when the line had one; the
 * hash of the request's canonical form. Lines with the same label or
 * request are interchangeable: their answers go out in line order; for
 * those, a row byte for byte like one of an earlier output file is that
 * row repeated (incremental files repeat rows of the final one), while
 * identical rows within one file are distinct answers.
 * The first answer per line is kept (a success still replaces an earlier
 * error); a row matching no line is dropped, never given to another; a line
 * with no row takes the next result of the lines sent again (redo.ts) when
 * its job ended otherwise than SUCCEEDED, else MISSING_RESULT. Memory: the index and three small arrays per
 * line; answers wait on disk in a scratch file.
 */
import { closeSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { GeminiApiError } from '../../backend/service-error.js';
import type { Gcs, GcsObject } from '../../backends/vertex/gcs.js';
import { rowError } from '../../backends/vertex/row-status.js';
import { forEachLineAsync, SequentialLines } from '../../internal/io/lines.js';
import { LineSplitter } from '../../internal/io/line-splitter.js';
import type { ResultError } from '../../types.js';
import { hash16, keyHash, labelHash, requestHash } from './canonical.js';
import type { MatchIndex, Tier } from './line-index.js';

const NONE = 0;
const FAILED = 1;
const OK = 2;
const CHECKSUM_TRIES = 3;

interface Row {
  key?: unknown;
  status?: unknown;
  response?: unknown;
  request?: { labels?: Record<string, unknown> } & Record<string, unknown>;
}

export interface MatchCounts {
  byKey: number;
  byLabel: number;
  byRequest: number;
  repeated: number;
  dropped: number;
}

export class RowMatcher {
  private state: Uint8Array;
  private offsets: Float64Array;
  private lengths: Uint32Array;
  /** Rows of groups of interchangeable lines, by their bytes' hash: how many each earlier output file held (the most), and this one so far. */
  private earlier = new Map<string, number>();
  private current = new Map<string, number>();
  private readonly fd: number;
  private size = 0;
  readonly counts: MatchCounts = { byKey: 0, byLabel: 0, byRequest: 0, repeated: 0, dropped: 0 };

  constructor(
    private readonly index: MatchIndex,
    scratchPath: string,
  ) {
    this.state = new Uint8Array(index.lines);
    this.offsets = new Float64Array(index.lines);
    this.lengths = new Uint32Array(index.lines);
    this.fd = openSync(scratchPath, 'w+');
  }

  /** The lines a row may answer, and which way it was matched. */
  private candidates(row: Row): { lines: Uint32Array; tier: Tier } | undefined {
    if (row.key !== undefined) {
      const lines = this.index.find(1, keyHash(row.key));
      if (lines.length === 1) return { lines, tier: 1 };
    }
    const label = row.request?.labels?.gbs_seq;
    if (typeof label === 'string') {
      const lines = this.index.find(2, labelHash(label));
      if (lines.length) return { lines, tier: 2 };
    }
    if (row.request === null || typeof row.request !== 'object') return undefined;
    const lines = this.index.find(0, requestHash(row.request));
    return lines.length ? { lines, tier: 0 } : undefined;
  }

  row(bytes: Buffer): void {
    let row: Row;
    try {
      row = JSON.parse(bytes.toString('utf8')) as Row;
    } catch {
      this.counts.dropped++;
      return;
    }
    if (row === null || typeof row !== 'object') {
      this.counts.dropped++;
      return;
    }
    const failed = typeof row.status === 'string' && row.status !== '';
    if (!failed && (row.response === null || typeof row.response !== 'object')) {
      this.counts.dropped++;
      return;
    }
    const found = this.candidates(row);
    if (!found) {
      this.counts.dropped++;
      return;
    }
    const { lines, tier } = found;
    if (lines.length > 1) {
      const id = hash16(bytes.toString('latin1')).toString('base64');
      const n = (this.current.get(id) ?? 0) + 1;
      this.current.set(id, n);
      if (n <= (this.earlier.get(id) ?? 0)) {
        this.counts.repeated++;
        return;
      }
    }
    let line = firstWith(lines, this.state, NONE);
    if (line < 0 && !failed) line = firstWith(lines, this.state, FAILED);
    if (line < 0) {
      this.counts.repeated++;
      return;
    }
    const body = Buffer.from(failed ? `"error":${JSON.stringify(rowError(row.status as string))}` : `"response":${JSON.stringify(row.response)}`);
    writeSync(this.fd, body, 0, body.length, this.size);
    this.offsets[line] = this.size;
    this.lengths[line] = body.length;
    this.size += body.length;
    this.state[line] = failed ? FAILED : OK;
    if (tier === 1) this.counts.byKey++;
    else if (tier === 2) this.counts.byLabel++;
    else this.counts.byRequest++;
  }

  /** Every row of one output object; a read whose checksum fails is taken back and read again. */
  async fetch(gcs: Gcs, obj: GcsObject, signal?: AbortSignal): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const saved = { state: this.state.slice(), offsets: this.offsets.slice(), lengths: this.lengths.slice(), size: this.size, counts: { ...this.counts } };
      this.current.clear();
      const lines = new LineSplitter();
      try {
        await gcs.download(
          obj,
          (chunk) => {
            for (const l of lines.push(chunk)) this.row(l);
          },
          signal,
        );
        const last = lines.end();
        if (last) this.row(last);
        for (const [id, n] of this.current) if (n > (this.earlier.get(id) ?? 0)) this.earlier.set(id, n);
        this.current.clear();
        return;
      } catch (err) {
        if (!(err instanceof GeminiApiError && err.status === 'DATA_LOSS') || attempt >= CHECKSUM_TRIES) throw err;
        Object.assign(this, { state: saved.state, offsets: saved.offsets, lengths: saved.lengths, size: saved.size });
        Object.assign(this.counts, saved.counts);
      }
    }
  }

  /** One byte per line, set for the lines no row answered; undefined when every line has an answer. */
  unanswered(): Uint8Array | undefined {
    const mask = this.state.map((s) => (s === NONE ? 1 : 0));
    return mask.includes(1) ? mask : undefined;
  }

  /**
   * The object's results in line order into `resultsPath` (fsynced): each
   * line's key from `keysPath`, its answer from the scratch file, else the
   * next line of `redoPath` (the unanswered lines sent again, in line order),
   * else `missing`. Returns lines and error lines.
   */
  async writeOrdered(keysPath: string, resultsPath: string, missing: ResultError, redoPath?: string): Promise<{ lines: number; errors: number }> {
    const redo = redoPath ? new SequentialLines(redoPath) : undefined;
    const out = openSync(resultsPath, 'w');
    const missingBody = Buffer.from(`"error":${JSON.stringify(missing)}`);
    let i = 0;
    let errors = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = () => {
      if (pending.length) writeSync(out, Buffer.concat(pending, pendingBytes));
      pending = [];
      pendingBytes = 0;
    };
    try {
      await forEachLineAsync(keysPath, (key) => {
        const line = i++;
        let body = missingBody;
        let ok = this.state[line] === OK;
        if (this.state[line] !== NONE) {
          body = Buffer.allocUnsafe(this.lengths[line]!);
          readSync(this.fd, body, 0, body.length, this.offsets[line]!);
        } else {
          const again = redo?.next();
          if (again) {
            const r = JSON.parse(again.toString('utf8')) as { response?: unknown; error?: unknown };
            ok = r.response !== undefined && r.response !== null;
            body = Buffer.from(ok ? `"response":${JSON.stringify(r.response)}` : `"error":${JSON.stringify(r.error)}`);
          }
        }
        if (!ok) errors++;
        const text = Buffer.concat([Buffer.from('{"key":'), key, Buffer.from(','), body, Buffer.from('}\n')]);
        pending.push(text);
        pendingBytes += text.length;
        if (pendingBytes >= 1 << 20) flush();
      });
      flush();
      fsyncSync(out);
    } finally {
      closeSync(out);
      redo?.close();
    }
    return { lines: i, errors };
  }

  close(): void {
    closeSync(this.fd);
  }
}

function firstWith(lines: Uint32Array, state: Uint8Array, want: number): number {
  for (const l of lines) if (state[l] === want) return l;
  return -1;
}
