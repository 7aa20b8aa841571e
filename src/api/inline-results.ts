/**
 * Splits a batch Operation document, as it streams in, into:
 *  - its inline responses, written one JSONL line each to a file, and
 *  - the small rest of the document, assembled in memory.
 *
 * The service may serve the same responses twice (under metadata.output and
 * under response), so only the first array that has items is written.
 * Memory holds one response at a time, never the whole set.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import Assembler from 'stream-json/Assembler.js';
import Parser from 'stream-json/Parser.js';

interface Token {
  name: string;
  value?: string;
}

/** Where inline responses live; both are read, one is written. */
const SOURCES: Record<string, 'metadata' | 'response'> = {
  '/metadata/output/inlinedResponses/inlinedResponses': 'metadata',
  '/response/inlinedResponses/inlinedResponses': 'response',
};

interface Frame {
  path: string;
  isArray: boolean;
  /** Object frames: the key of the value being parsed. Array frames: items seen. */
  key: string | null;
  index: number;
}

export interface SplitResult {
  /** The operation without its inline responses. */
  rest: Record<string, unknown>;
  /** Lines written; undefined when the document had no inline responses array at all. */
  count: number | undefined;
}

/** One inline response item → one result line, the same shape as a responses-file line. */
export function inlineItemToLine(item: unknown): string {
  const o = (item && typeof item === 'object' ? item : {}) as Record<string, unknown>;
  const md = (o.metadata && typeof o.metadata === 'object' ? o.metadata : {}) as Record<string, unknown>;
  const key = md.key ?? o.key ?? null;
  if (o.error !== undefined) return JSON.stringify({ key, error: o.error });
  if (o.response === undefined && o.status !== undefined) return JSON.stringify({ key, error: o.status });
  return JSON.stringify({ key, response: o.response ?? null });
}

class OperationSplitter extends Writable {
  private readonly rest = new Assembler();
  private readonly stack: Frame[] = [];
  private item: Assembler | null = null;
  private itemSource: 'metadata' | 'response' | null = null;
  private writtenSource: 'metadata' | 'response' | null = null;
  private sawArray = false;
  private out: WriteStream | null = null;
  count = 0;

  constructor(private readonly tmpPath: string) {
    super({ objectMode: true, highWaterMark: 256 });
  }

  get result(): SplitResult {
    const rest = (this.rest.current ?? {}) as Record<string, unknown>;
    stripInline(rest);
    return { rest, count: this.sawArray ? this.count : undefined };
  }

  get wroteFile(): boolean {
    return this.out !== null;
  }

  override _write(token: Token, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    try {
      const line = this.consume(token);
      if (line === undefined || !this.out) return cb();
      if (this.out.write(line)) return cb();
      this.out.once('drain', () => cb());
    } catch (err) {
      cb(err as Error);
    }
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.out) return cb();
    this.out.end((err?: Error | null) => cb(err ?? null));
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.out?.destroy();
    cb(err);
  }

  /** Routes one token; returns a line to write when an inline item completes. */
  private consume(token: Token): string | undefined {
    if (this.item) {
      this.item.consume(token);
      return this.item.done ? this.finishItem() : undefined;
    }
    const top = this.stack[this.stack.length - 1];
    switch (token.name) {
      case 'keyValue':
        if (top) top.key = token.value ?? '';
        this.rest.consume(token);
        return undefined;
      case 'endObject':
      case 'endArray':
        this.stack.pop();
        this.rest.consume(token);
        return undefined;
    }
    // A value begins here (container or primitive).
    const source = top?.isArray ? SOURCES[top.path] : undefined;
    if (top?.isArray) top.index++;
    if (source) {
      this.item = new Assembler();
      this.itemSource = source;
      this.item.consume(token);
      return this.item.done ? this.finishItem() : undefined;
    }
    if (token.name === 'startObject' || token.name === 'startArray') {
      const seg = top ? (top.isArray ? String(top.index - 1) : (top.key ?? '')) : '';
      const path = top ? `${top.path}/${seg}` : '';
      const isArray = token.name === 'startArray';
      this.stack.push({ path, isArray, key: null, index: 0 });
      if (isArray && SOURCES[path]) this.openOutput();
    }
    this.rest.consume(token);
    return undefined;
  }

  private finishItem(): string | undefined {
    const value: unknown = this.item?.current;
    const source = this.itemSource;
    this.item = null;
    this.itemSource = null;
    this.writtenSource ??= source;
    if (source !== this.writtenSource) return undefined; // the same responses, served twice
    this.count++;
    return `${inlineItemToLine(value)}\n`;
  }

  private openOutput(): void {
    this.sawArray = true;
    if (this.out) return;
    this.out = createWriteStream(this.tmpPath);
    this.out.on('error', (err) => this.destroy(err));
  }
}

/** Remove inline response arrays left empty in the assembled rest. */
function stripInline(rest: Record<string, unknown>): void {
  const drop = (holder: unknown) => {
    if (holder && typeof holder === 'object' && 'inlinedResponses' in holder) {
      const inner = (holder as Record<string, unknown>).inlinedResponses;
      if (inner && typeof inner === 'object') delete (inner as Record<string, unknown>).inlinedResponses;
    }
  };
  const md = rest.metadata as Record<string, unknown> | undefined;
  drop(md?.output);
  drop(rest.response);
}

/**
 * Stream `body` (an Operation JSON document) apart. The lines land in
 * `outPath` via a temp file + rename, so a half-written file is never taken
 * for a complete one. No file is written when there is no inline array.
 */
export async function splitOperation(body: Readable, outPath: string, signal?: AbortSignal): Promise<SplitResult> {
  const tmp = `${outPath}.part-${process.pid}`;
  const splitter = new OperationSplitter(tmp);
  // streamValues:false packs every string/number/key into one token: far fewer tokens per response.
  const parser = new Parser({ packValues: true, streamValues: false });
  try {
    await pipeline(body, parser, splitter, signal ? { signal } : {});
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  if (splitter.wroteFile) await rename(tmp, outPath);
  return splitter.result;
}
