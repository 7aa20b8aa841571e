/**
 * Splits a batch Operation document, as it streams in, into:
 *  - its inline responses, written one JSONL line each to a file
 *    (`{"key":K,"response":R}` or `{"key":K,"error":E}`, K null when the item
 *    carried no key), and
 *  - the small rest of the document, parsed once at the end.
 *
 * Byte-level, not a token stream (issue 12): one pass finds the structure
 * (strings are jumped over with Buffer.indexOf, so megabytes of base64 image
 * data cost next to nothing), each item's bytes are gathered, and the item's
 * `response`/`error` value is copied into the line as it came, never parsed.
 * Only the item's small `metadata` is parsed, for its key. Memory holds one
 * item at a time (a few MB for an image answer), never the whole set; a
 * single JSON.parse of the whole body would hold all of it, several times
 * over, for bodies well past the 20 MB of an inline create.
 *
 * The service may serve the same responses twice (under metadata.output and
 * under response), so only the first array that has items is written. An
 * inline input echoed under metadata.inputConfig is skipped, not assembled.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { inlineItemBytesToLine } from './inline-item.js';
import { BACKSLASH, COLON, COMMA, LBRACE, LBRACKET, QUOTE, RBRACE, RBRACKET, isJsonSpace } from '../../internal/wire/json-bytes.js';

/** Arrays whose items are inline responses (written) or inline requests (dropped). */
const ITEM_ARRAYS: Record<string, 'metadata' | 'response' | 'skip'> = {
  '/metadata/output/inlinedResponses/inlinedResponses': 'metadata',
  '/response/inlinedResponses/inlinedResponses': 'response',
  // Embedding batches: the official SDK reads their inline output from here.
  '/metadata/output/inlinedEmbedContentResponses/inlinedResponses': 'metadata',
  '/response/inlinedEmbedContentResponses/inlinedResponses': 'response',
  '/metadata/inputConfig/requests/requests': 'skip',
};
/** Containers deeper than this cannot hold one of ITEM_ARRAYS: no path is built for them. */
const MAX_PATH_DEPTH = 4;

/** The rest of the document is small; a huge one is not an Operation we understand. */
const MAX_REST_BYTES = 32 * 1024 * 1024;

export interface SplitResult {
  /** The operation without its inline responses. */
  rest: Record<string, unknown>;
  /** Lines written; undefined when the document had no inline responses array at all. */
  count: number | undefined;
  /** Items written that carried a key (metadata.key, or a top-level key). */
  keyed: number;
  /** Items written without one (js-genai #1191: disputed, but reported). */
  keyless: number;
}

interface Frame {
  isArray: boolean;
  /** Path from the root ('' for the root), or null below MAX_PATH_DEPTH. */
  path: string | null;
  /** Object frames: the last member name read. Array frames: items begun. */
  key: string | null;
  index: number;
}

/**
 * The streaming scanner. Outside the item arrays it keeps a frame stack
 * (paths only near the root); inside an item it only counts depth.
 */
class OperationSplitter extends Writable {
  private readonly stack: Frame[] = [];
  private inString = false;
  /** A backslash ended the previous chunk inside a string. */
  private escapePending = false;
  /** Bytes of a member name being read (names are short). */
  private keyPieces: Buffer[] | null = null;
  private expectKey = false;

  /** Inside an item array: which one, and the stack depth of its frame. */
  private arrayKind: 'metadata' | 'response' | 'skip' | null = null;
  private arrayDepth = -1;
  /** Inside an item: its pieces and nesting depth (0 = between items). */
  private itemPieces: Buffer[] = [];
  private itemDepth = 0;
  private inItem = false;
  private primitiveItem = false;

  private readonly restPieces: Buffer[] = [];
  private restBytes = 0;

  private writtenSource: 'metadata' | 'response' | null = null;
  private sawArray = false;
  private out: WriteStream | null = null;
  count = 0;
  keyed = 0;
  keyless = 0;

  constructor(private readonly tmpPath: string) {
    super({ highWaterMark: 64 * 1024 });
  }

  get result(): SplitResult {
    const text = Buffer.concat(this.restPieces).toString('utf8');
    const parsed: unknown = text.trim() === '' ? {} : JSON.parse(text);
    const rest = (parsed && typeof parsed === 'object' ? parsed : {}) as Record<string, unknown>;
    stripInline(rest);
    return { rest, count: this.sawArray ? this.count : undefined, keyed: this.keyed, keyless: this.keyless };
  }

  get wroteFile(): boolean {
    return this.out !== null;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    let lines: Buffer[];
    try {
      lines = this.scan(chunk);
    } catch (err) {
      return cb(err as Error);
    }
    if (lines.length === 0 || !this.out) return cb();
    let ok = true;
    for (const l of lines) ok = this.out.write(l);
    if (ok) return cb();
    this.out.once('drain', () => cb());
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.stack.length > 0 || this.inString) return cb(new Error('Unexpected end of JSON input'));
    if (!this.out) return cb();
    this.out.end((err?: Error | null) => cb(err ?? null));
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.out?.destroy();
    cb(err);
  }

  /** Keep rest bytes [from, to) of `chunk`. */
  private keepRest(chunk: Buffer, from: number, to: number): void {
    if (to <= from) return;
    this.restBytes += to - from;
    if (this.restBytes > MAX_REST_BYTES) throw new Error(`operation outside its inline responses exceeds ${MAX_REST_BYTES} bytes`);
    this.restPieces.push(chunk.subarray(from, to));
  }

  /**
   * Where a string ends in this chunk (index past its closing quote), or -1
   * when it goes on into the next chunk. Jumps from quote to quote with
   * indexOf and counts the backslashes before each: linear however many
   * escapes the text holds.
   */
  private stringEndIn(chunk: Buffer, from: number): number {
    let start = from;
    if (this.escapePending) {
      // The previous chunk ended on a backslash: this chunk's first byte is escaped.
      this.escapePending = false;
      start = from + 1;
    }
    let q = chunk.indexOf(QUOTE, start);
    while (q !== -1) {
      let run = 0;
      while (q - 1 - run >= start && chunk[q - 1 - run] === BACKSLASH) run++;
      if (run % 2 === 0) return q + 1;
      q = chunk.indexOf(QUOTE, q + 1);
    }
    let run = 0;
    while (chunk.length - 1 - run >= start && chunk[chunk.length - 1 - run] === BACKSLASH) run++;
    this.escapePending = run % 2 === 1;
    return -1;
  }

  private scan(chunk: Buffer): Buffer[] {
    const lines: Buffer[] = [];
    // Start of the pending span of the current chunk: rest bytes outside item arrays, item bytes inside an item.
    let spanFrom = 0;
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.inString) {
        const end = this.stringEndIn(chunk, i);
        if (end === -1) {
          if (this.keyPieces) this.keyPieces.push(chunk.subarray(i, n));
          i = n;
          break;
        }
        if (this.keyPieces) {
          this.keyPieces.push(chunk.subarray(i, end));
          const top = this.stack[this.stack.length - 1];
          if (top) top.key = JSON.parse(Buffer.concat(this.keyPieces).toString('utf8')) as string;
          this.keyPieces = null;
        }
        this.inString = false;
        i = end;
        if (this.inItem && this.primitiveItem && this.itemDepth === 0) {
          // A bare string item ends with its quote.
          lines.push(...this.endItem(chunk, spanFrom, i));
          spanFrom = i;
        }
        continue;
      }
      const c = chunk[i]!;
      if (isJsonSpace(c)) {
        i++;
        continue;
      }

      if (this.inItem) {
        if (this.primitiveItem && (c === COMMA || c === RBRACKET)) {
          lines.push(...this.endItem(chunk, spanFrom, i));
          spanFrom = i;
          continue; // the delimiter is handled as between items
        }
        if (c === QUOTE) {
          this.inString = true;
          i++;
          continue;
        }
        if (c === LBRACE || c === LBRACKET) this.itemDepth++;
        else if (c === RBRACE || c === RBRACKET) {
          if (--this.itemDepth === 0) {
            i++;
            lines.push(...this.endItem(chunk, spanFrom, i));
            spanFrom = i;
            continue;
          }
        }
        i++;
        continue;
      }

      if (this.arrayKind !== null && this.stack.length === this.arrayDepth) {
        // Between items of an item array: only commas, the closing bracket, or an item's start.
        if (c === COMMA) {
          i++;
          spanFrom = i;
          continue;
        }
        if (c === RBRACKET) {
          this.arrayKind = null;
          this.arrayDepth = -1;
          spanFrom = i; // the bracket is rest again: the array is kept, empty
          this.stack.pop();
          this.keepRest(chunk, spanFrom, i + 1);
          i++;
          spanFrom = i;
          continue;
        }
        this.inItem = true;
        this.itemPieces = [];
        spanFrom = i;
        if (c === LBRACE || c === LBRACKET) {
          this.itemDepth = 1;
          this.primitiveItem = false;
        } else {
          this.itemDepth = 0;
          this.primitiveItem = true;
          if (c === QUOTE) this.inString = true;
        }
        i++;
        continue;
      }

      // The document outside item arrays.
      const top = this.stack[this.stack.length - 1];
      if (c === QUOTE) {
        this.inString = true;
        if (top && !top.isArray && this.expectKey) {
          this.keyPieces = [];
          this.expectKey = false;
          const end = this.stringEndIn(chunk, i + 1);
          if (end !== -1) {
            top.key = JSON.parse(chunk.toString('utf8', i, end)) as string;
            this.keyPieces = null;
            this.inString = false;
            i = end;
            continue;
          }
          this.keyPieces.push(chunk.subarray(i, n));
          i = n;
          break;
        }
        i++;
        continue;
      }
      if (c === LBRACE || c === LBRACKET) {
        const parentPath = top ? top.path : '';
        let path: string | null = null;
        if (!top) path = '';
        else if (parentPath !== null && this.stack.length <= MAX_PATH_DEPTH) {
          path = `${parentPath}/${top.isArray ? String(top.index) : (top.key ?? '')}`;
        }
        if (top?.isArray) top.index++;
        const isArray = c === LBRACKET;
        this.stack.push({ isArray, path, key: null, index: 0 });
        this.expectKey = !isArray;
        const kind = isArray && path !== null ? ITEM_ARRAYS[path] : undefined;
        if (kind) {
          this.keepRest(chunk, spanFrom, i + 1);
          spanFrom = i + 1;
          this.arrayKind = kind;
          this.arrayDepth = this.stack.length;
          if (kind !== 'skip') this.openOutput();
        }
        i++;
        continue;
      }
      if (c === RBRACE || c === RBRACKET) this.stack.pop();
      else if (c === COMMA) this.expectKey = top !== undefined && !top.isArray;
      else if (c === COLON) this.expectKey = false;
      i++;
    }
    // Carry the pending span over to the next chunk.
    if (this.inItem) {
      if (spanFrom < n) this.itemPieces.push(chunk.subarray(spanFrom, n));
    } else if (this.arrayKind === null) {
      this.keepRest(chunk, spanFrom, n);
    }
    return lines;
  }

  private endItem(chunk: Buffer, from: number, to: number): Buffer[] {
    this.itemPieces.push(chunk.subarray(from, to));
    const item = Buffer.concat(this.itemPieces);
    this.itemPieces = [];
    this.inItem = false;
    this.primitiveItem = false;
    this.itemDepth = 0;
    const top = this.stack[this.stack.length - 1];
    if (top) top.index++;
    const kind = this.arrayKind;
    if (kind === 'skip' || kind === null) return [];
    this.writtenSource ??= kind;
    if (kind !== this.writtenSource) return []; // the same responses, served twice
    const { line, key } = inlineItemBytesToLine(item);
    this.count++;
    if (key === undefined) this.keyless++;
    else this.keyed++;
    return [line];
  }

  private openOutput(): void {
    this.sawArray = true;
    if (this.out) return;
    this.out = createWriteStream(this.tmpPath, { highWaterMark: 64 * 1024 });
    this.out.on('error', (err) => this.destroy(err));
  }
}

/** Remove inline response arrays left empty in the parsed rest. */
function stripInline(rest: Record<string, unknown>): void {
  const drop = (holder: unknown) => {
    if (!holder || typeof holder !== 'object') return;
    for (const container of ['inlinedResponses', 'inlinedEmbedContentResponses']) {
      const inner = (holder as Record<string, unknown>)[container];
      if (inner && typeof inner === 'object') delete (inner as Record<string, unknown>).inlinedResponses;
    }
  };
  const md = rest.metadata as Record<string, unknown> | undefined;
  drop(md?.output);
  drop(rest.response);
  const requests = (md?.inputConfig as Record<string, unknown> | undefined)?.requests;
  if (requests && typeof requests === 'object') delete (requests as Record<string, unknown>).requests;
}

/**
 * Stream `body` (an Operation JSON document) apart. The lines land in
 * `outPath` via a temp file + rename, so a half-written file is never taken
 * for a complete one. No file is written when there is no inline array.
 * Rejects on a document that is not valid JSON (as far as its structure and
 * the rest's parse can tell).
 */
export async function splitOperation(body: Readable, outPath: string, signal?: AbortSignal): Promise<SplitResult> {
  const tmp = `${outPath}.part-${process.pid}`;
  const splitter = new OperationSplitter(tmp);
  let result: SplitResult;
  try {
    await pipeline(body, splitter, signal ? { signal } : {});
    result = splitter.result;
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  if (splitter.wroteFile) await rename(tmp, outPath);
  return result;
}
