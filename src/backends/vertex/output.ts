/**
 * A finished job's results, from its output directory to canonical result
 * lines. Vertex writes unordered rows `{"status", "processed_time",
 * "request", "response"}` into one or more `*.jsonl` objects (incremental
 * files repeat rows of the final one). Every object is downloaded streamed
 * (flat memory, resumed after a cut, checksum-verified) and each row is
 * keyed by its top-level `key` when the service echoed it, else by the
 * echoed request's `labels.gbs_seq` and the part's spool; the first answer
 * per key is kept (a success still wins over an earlier error); a non-empty
 * `status` becomes an error line; a row with neither key nor readable label
 * is dropped (the record is reported MISSING_RESULT downstream, never given
 * someone else's answer).
 */
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { stat, truncate } from 'node:fs/promises';
import { GeminiApiError } from '../../backend/service-error.js';
import type { BatchJob, Fetched, FetchTarget } from '../../backend/types.js';
import { splitWireKey } from '../../internal/wire/wire-key.js';
import { LineSplitter } from '../../internal/io/line-splitter.js';
import { gsUri, parseGsUri, type Gcs, type GcsObject } from './gcs.js';
import { outputDirectory } from './jobs.js';
import { rowError } from './row-status.js';
import { ReorderWindow } from './reorder.js';
import { labelSeqAt, RowScratch, scanRow, wireKeySeqAt, type RowShape } from './row-scan.js';
import { SpoolIndex } from './spool-index.js';

const OK = 1;
const FAILED = 2;
/** Tries of one object whose bytes did not match its checksum. */
const CHECKSUM_TRIES = 3;
/** Canonical lines are gathered into blocks of this size and written whole (a write per row was a tenth of the fetch). */
const BLOCK_BYTES = 256 << 10;
/** Lines held back to put rows in spool order (reorder.ts), per fetch. */
const REORDER_BYTES = 4 << 20;
const QUOTE = 0x22;
const LBRACE = 0x7b;
const LBRACKET = 0x5b;
const KEY_HEAD = Buffer.from('{"key":');
const RESPONSE_HEAD = Buffer.from(',"response":');
const CLOSE_NL = Buffer.from('}\n');
const NOTHING = Buffer.alloc(0);

interface Counts {
  byLabel: number;
  repeated: number;
  dropped: number;
}

interface Row {
  key?: unknown;
  status?: unknown;
  response?: unknown;
  request?: { labels?: Record<string, unknown> };
}

/**
 * Canonical lines into a results file, copied into 256 KiB blocks that are
 * written whole; `room()` says when the caller should wait for the file. A
 * block comes back for reuse once the file has it: a fresh one per write was
 * ~800 dead 256 KiB buffers per 200 MB waiting for a GC (Node 24's large
 * young generation lets them pile up).
 */
class BlockWriter {
  private block: Buffer;
  private used = 0;
  private readonly free: Buffer[] = [];

  constructor(private readonly ws: WriteStream) {
    this.block = Buffer.allocUnsafe(BLOCK_BYTES);
  }

  /** One line (copied at once: it may be a view of a buffer that is reused). */
  put(line: Buffer): void {
    const n = line.length;
    if (this.used + n > this.block.length) this.flush();
    if (n > this.block.length) {
      this.ws.write(Buffer.from(line));
      return;
    }
    this.block.set(line, this.used);
    this.used += n;
  }

  /** The gathered lines to the file; the next ones go to a block the file is done with (or a new one). */
  flush(): void {
    if (this.used === 0) return;
    const full = this.block;
    this.ws.write(full.subarray(0, this.used), () => {
      if (this.free.length < 4) this.free.push(full);
    });
    this.block = this.free.pop() ?? Buffer.allocUnsafe(BLOCK_BYTES);
    this.used = 0;
  }

  /** Until the file has taken what was written (bounded: at most one network chunk's lines are ahead). */
  async room(): Promise<void> {
    if (this.ws.writableNeedDrain) await once(this.ws, 'drain');
  }
}

/** A canonical line assembled in one reused buffer (grown to the longest line), handed on as a view. */
class LineBuilder {
  private buf = Buffer.allocUnsafe(64 << 10);

  /** `{"key":<keyJson><middle><body><tail>`: the line's bytes, valid until the next call. */
  line(keyJson: Buffer, middle: Buffer, body: Buffer, bodyStart: number, bodyEnd: number, tail: Buffer): Buffer {
    const n = KEY_HEAD.length + keyJson.length + middle.length + (bodyEnd - bodyStart) + tail.length;
    if (n > this.buf.length) this.buf = Buffer.allocUnsafe(Math.max(n, this.buf.length * 2));
    const b = this.buf;
    let at = copyInto(KEY_HEAD, b, 0);
    at = copyInto(keyJson, b, at);
    at = copyInto(middle, b, at);
    at += body.copy(b, at, bodyStart, bodyEnd);
    at = copyInto(tail, b, at);
    return b.subarray(0, at);
  }
}

/**
 * `src` into `dst` at `at`; the index past it. Parts of a line are mostly a
 * few bytes (a key, `{"key":`): a byte loop for those beats the native
 * copy's call.
 */
function copyInto(src: Buffer, dst: Buffer, at: number): number {
  const n = src.length;
  if (n > 32) {
    dst.set(src, at);
    return at + n;
  }
  for (let i = 0; i < n; i++) dst[at + i] = src[i]!;
  return at + n;
}

/** The rows of one fetch, turned into canonical lines. */
class RowKeyer {
  flags: Uint8Array;
  readonly counts: Counts = { byLabel: 0, repeated: 0, dropped: 0 };
  private readonly lines = new LineBuilder();
  private readonly scratch = new RowScratch();

  constructor(private readonly index: SpoolIndex) {
    this.flags = new Uint8Array(index.size);
  }

  /** The row at [start, end) of `bytes` to `out` as its canonical line, unless it is dropped or repeats one already written. */
  put(bytes: Buffer, start: number, end: number, out: ReorderWindow): void {
    const shape = scanRow(bytes, start, end, this.scratch);
    if (!shape || !this.fromBytes(bytes, shape, out)) {
      const r = this.line(bytes.subarray(start, end));
      if (r) out.add(r.pos, r.bytes);
    }
  }

  /**
   * The row read on its bytes (the common case: no parse, the answer copied as
   * the service wrote it, as the Developer API path does). False when the
   * walk cannot place it: the caller parses it then, so an odd row is decided
   * by the same rules as before.
   */
  private fromBytes(bytes: Buffer, shape: RowShape, out: ReorderWindow): boolean {
    const { key, status, response } = shape;
    let pos = -1;
    let keyJson: Buffer | undefined;
    let byLabel = false;
    if (key.start >= 0 && !shape.keyEscaped) {
      const seq = wireKeySeqAt(bytes, key);
      if (seq !== undefined) pos = this.index.position(seq);
      if (pos >= 0) keyJson = bytes.subarray(key.start, key.end);
    } else if (key.start >= 0) return false;
    if (pos < 0) {
      const seq = labelSeqAt(bytes, shape.labels, this.scratch.seq);
      if (seq === undefined) return false;
      pos = this.index.position(seq);
      keyJson = pos >= 0 ? this.index.keyJson(pos) : undefined;
      if (!keyJson) return false;
      byLabel = true;
    }
    const failed = status.start >= 0 && bytes[status.start] === QUOTE && status.end - status.start > 2;
    let error: Buffer | undefined;
    if (failed) {
      let text: unknown;
      try {
        text = JSON.parse(bytes.toString('utf8', status.start, status.end));
      } catch {
        return false;
      }
      error = Buffer.from(`,"error":${JSON.stringify(rowError(text as string))}}\n`);
    }
    if (byLabel) this.counts.byLabel++;
    const answer = response.start >= 0 ? bytes[response.start] : undefined;
    if (!failed && answer !== LBRACE && answer !== LBRACKET) {
      this.counts.dropped++;
      return true;
    }
    const flag = this.flags[pos]!;
    if (flag & OK || (failed && flag & FAILED)) {
      this.counts.repeated++;
      return true;
    }
    this.flags[pos] = flag | (failed ? FAILED : OK);
    if (error) out.add(pos, this.lines.line(keyJson!, error, bytes, 0, 0, NOTHING));
    else out.add(pos, this.lines.line(keyJson!, RESPONSE_HEAD, bytes, response.start, response.end, CLOSE_NL));
    return true;
  }

  /** The canonical line of a row by a parse and its spool position, or undefined when it is dropped or repeats one already written. */
  line(bytes: Buffer): { pos: number; bytes: Buffer } | undefined {
    let row: Row;
    try {
      row = JSON.parse(bytes.toString('utf8')) as Row;
    } catch {
      this.counts.dropped++;
      return undefined;
    }
    if (row === null || typeof row !== 'object') {
      this.counts.dropped++;
      return undefined;
    }
    const located = this.locate(row);
    if (!located) {
      this.counts.dropped++;
      return undefined;
    }
    const { pos, keyJson } = located;
    const flag = this.flags[pos]!;
    const failed = typeof row.status === 'string' && row.status !== '';
    if (!failed && (row.response === null || typeof row.response !== 'object')) {
      this.counts.dropped++;
      return undefined;
    }
    if (flag & OK || (failed && flag & FAILED)) {
      this.counts.repeated++;
      return undefined;
    }
    this.flags[pos] = flag | (failed ? FAILED : OK);
    const body = failed ? `,"error":${JSON.stringify(rowError(row.status as string))}}\n` : `,"response":${JSON.stringify(row.response)}}\n`;
    return { pos, bytes: Buffer.concat([Buffer.from('{"key":'), keyJson, Buffer.from(body)]) };
  }

  /** The row's line in the spool and its wire key: by the echoed top-level key, else by the seq label. */
  private locate(row: Row): { pos: number; keyJson: Buffer } | undefined {
    const k = splitWireKey(row.key);
    if (k) {
      const pos = this.index.position(k.seq);
      if (pos >= 0) return { pos, keyJson: Buffer.from(JSON.stringify(row.key)) };
    }
    const label = row.request?.labels?.gbs_seq;
    const seq = typeof label === 'string' && /^\d{1,16}$/.test(label) ? Number(label) : undefined;
    if (seq === undefined) return undefined;
    const pos = this.index.position(seq);
    const keyJson = pos >= 0 ? this.index.keyJson(pos) : undefined;
    if (!keyJson) return undefined;
    this.counts.byLabel++;
    return { pos, keyJson };
  }
}

/** The `*.jsonl` objects of a job's output directory, in name order. */
export async function outputObjects(gcs: Gcs, directory: string, signal?: AbortSignal): Promise<GcsObject[]> {
  const { bucket, name } = parseGsUri(directory);
  const prefix = name === '' || name.endsWith('/') ? name : `${name}/`;
  const found: GcsObject[] = [];
  for await (const o of gcs.list(bucket, prefix, signal)) if (o.name.endsWith('.jsonl')) found.push(o);
  return found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

async function closeStream(ws: WriteStream): Promise<void> {
  await new Promise<void>((resolve, reject) => ws.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

/** Where the window's lines go: the block writer of the current attempt at an object. */
class Forward {
  to: BlockWriter | undefined;
  put(line: Buffer): void {
    this.to!.put(line);
  }
}

/** One object's rows appended to the results file; rolled back and read again when its checksum fails. */
async function fetchObject(gcs: Gcs, obj: GcsObject, keyer: RowKeyer, order: { window: ReorderWindow; sink: Forward }, resultsPath: string, signal?: AbortSignal): Promise<void> {
  const { window } = order;
  for (let attempt = 1; ; attempt++) {
    const size = await stat(resultsPath).then((s) => s.size, () => 0);
    const flags = keyer.flags.slice();
    const counts = { ...keyer.counts };
    const ordered = window.snapshot();
    const ws = createWriteStream(resultsPath, { flags: 'a' });
    const out = new BlockWriter(ws);
    order.sink.to = out;
    const lines = new LineSplitter();
    try {
      await gcs.download(
        obj,
        async (chunk) => {
          lines.each(chunk, (bytes, start, end) => keyer.put(bytes, start, end, window));
          await out.room();
        },
        signal,
      );
      const last = lines.end();
      if (last) keyer.put(last, 0, last.length, window);
      // Nothing waits past the end of an object: a retry of the next one rolls back to here.
      window.flush();
      out.flush();
      await closeStream(ws);
      return;
    } catch (err) {
      await closeStream(ws).catch(() => undefined);
      if (!(err instanceof GeminiApiError && err.status === 'DATA_LOSS') || attempt >= CHECKSUM_TRIES) throw err;
      // The rows of a corrupt read are taken back; the object is read again from its first byte.
      await truncate(resultsPath, size);
      keyer.flags = flags;
      Object.assign(keyer.counts, counts);
      window.restore(ordered);
    }
  }
}

export async function fetchVertexResults(gcs: Gcs, job: BatchJob, target: FetchTarget): Promise<Fetched> {
  const directory = outputDirectory(job);
  if (!directory) return { remote: [] };
  const objects = await outputObjects(gcs, directory, target.signal);
  const index = await SpoolIndex.build(target.spoolPath, target.lines);
  const keyer = new RowKeyer(index);
  const sink = new Forward();
  const order = { window: new ReorderWindow(index.size, sink, REORDER_BYTES), sink };
  // The largest object first (the final predictions file): its rows make one ordered run; the
  // rows only an incremental file holds follow it as a second run. Which copy of a repeated row
  // is read first does not matter (a success wins, repeats are the same answer).
  const bySize = [...objects].sort((a, b) => b.size - a.size || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  try {
    for (const obj of bySize) await fetchObject(gcs, obj, keyer, order, target.resultsPath, target.signal);
  } finally {
    index.close();
  }
  const { byLabel, repeated, dropped } = keyer.counts;
  const notes: string[] = [];
  if (byLabel > 0) notes.push(`${byLabel} rows keyed by their echoed gbs_seq label (the service did not echo the key)`);
  if (repeated > 0) notes.push(`${repeated} repeated rows ignored`);
  if (dropped > 0) notes.push(`${dropped} rows without a readable key dropped (their records count as missing)`);
  return { remote: objects.map((o) => gsUri(o.bucket, o.name)), ...(notes.length ? { detail: `${objects.length} output files: ${notes.join('; ')}` } : {}) };
}
