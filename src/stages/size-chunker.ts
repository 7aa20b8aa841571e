/**
 * Stage 2: RequestLine → Chunk. Appends lines to a spool file and closes the
 * chunk before it would pass the byte limit (on the exact bytes uploaded, or
 * the whole inline create body), at the request-count limit, or flushAfterMs
 * after its first record.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { InvalidRecordError, wrapFsError } from '../errors.js';
import { chunkerOptionsSchema, type ResolvedChunkerOptions, type SizeChunkerOptions } from '../options/chunker.js';
import { parseOptions, pickFor } from '../options/parse.js';
import type { RunContext } from '../run/context.js';
import type { Chunk, RequestLine } from '../types.js';
import { SpoolFile } from '../internal/io/spool-file.js';
import { inlineEnvelopeBytes, inlineItemBytes } from '../internal/wire/wire-line.js';

export type { SizeChunkerOptions } from '../options/chunker.js';

/** What the chunker's core needs besides its options. */
export interface ChunkBuilderPlace {
  /** Directory for spool files (must exist). */
  dir: string;
  /** Resume: where an earlier run ended chunk i (exclusive seq), so chunks are cut identically. */
  knownChunkEnd?: (index: number) => number | undefined;
  /** Index of the first chunk (default 0). */
  firstIndex?: number;
}

interface OpenChunk {
  index: number;
  spool: SpoolFile;
  firstSeq: number;
  count: number;
  lineCount: number;
  inlineBytes: number;
  estimatedTokens: number;
  /** A request asks for image output: in 'auto' mode the chunk goes as a file (answers are megabytes a line). */
  imageOutput: boolean;
  invalid: Chunk['invalid'];
}

/** The pure core: decides where chunks end and writes the spool files. */
export class ChunkBuilder {
  private current: OpenChunk | undefined;
  private nextIndex: number;
  private readonly mode: ResolvedChunkerOptions['mode'];
  private readonly maxFileBytes: number;
  private readonly maxInlineBytes: number;
  private readonly maxRequests: number;
  private readonly maxTokens: number;
  private readonly envelope = inlineEnvelopeBytes();
  private readonly place: ChunkBuilderPlace;

  /** Takes the place (dir, resume hook) and the chunker options, resolved or not, in one object. */
  constructor(opts: ChunkBuilderPlace & SizeChunkerOptions) {
    const o = parseOptions(chunkerOptionsSchema, pickFor(chunkerOptionsSchema, opts), 'sizeChunker');
    this.place = { dir: opts.dir, knownChunkEnd: opts.knownChunkEnd, firstIndex: opts.firstIndex };
    this.mode = o.mode;
    this.maxFileBytes = o.maxFileBytes;
    this.maxInlineBytes = o.maxInlineBytes;
    this.maxRequests = o.maxRequestsPerBatch;
    this.maxTokens = o.maxBatchTokens ?? Infinity;
    this.nextIndex = opts.firstIndex ?? 0;
  }

  get isOpen(): boolean {
    return this.current !== undefined;
  }

  /**
   * Add one line. Returns the chunks closed by it (0, 1 or 2: the one it did
   * not fit in, and its own when it reached a count limit). Fast path: no
   * promise when nothing had to be written.
   */
  add(rl: RequestLine): Promise<Chunk[]> | Chunk[] {
    const closed: Promise<Chunk>[] = [];
    if (rl.line) {
      const bytes = rl.line.length;
      const inline = inlineItemBytes(bytes);
      if (this.lineTooLarge(bytes, inline)) {
        throw new InvalidRecordError(
          'ERR_RECORD_TOO_LARGE',
          `the request is ${bytes} bytes serialised, over the ${this.describeLimit()} of one batch`,
          { seq: rl.seq, key: rl.key ?? undefined },
        );
      }
      if (this.current && this.current.lineCount > 0 && !this.fits(this.current, bytes, inline, rl.estimatedTokens ?? 0)) {
        closed.push(this.closeCurrent());
      }
    }
    const c = (this.current ??= this.openChunk(rl.seq));
    let write: Promise<void> | undefined;
    if (rl.line) {
      write = c.spool.append(rl.line);
      c.lineCount++;
      c.inlineBytes += inlineItemBytes(rl.line.length);
      c.estimatedTokens += rl.estimatedTokens ?? 0;
      if (rl.imageOutput) c.imageOutput = true;
    } else if (rl.invalid) {
      c.invalid.push({ seq: rl.seq, key: rl.key, error: rl.invalid });
    }
    c.count++;
    const knownEnd = this.place.knownChunkEnd?.(c.index);
    if (c.lineCount + c.invalid.length >= this.maxRequests || (knownEnd !== undefined && rl.seq + 1 >= knownEnd)) {
      closed.push(this.closeCurrent());
    }
    if (closed.length === 0 && !write) return [];
    return Promise.all([write, ...closed]).then(([, ...chunks]) => chunks as Chunk[]);
  }

  /** Close the open chunk, if any (end of input, or flushAfterMs). */
  async flush(): Promise<Chunk | undefined> {
    return this.current ? this.closeCurrent() : undefined;
  }

  async abandon(): Promise<void> {
    const c = this.current;
    this.current = undefined;
    if (c) {
      await c.spool.abandon();
      await rm(c.spool.path, { force: true });
    }
  }

  private openChunk(firstSeq: number): OpenChunk {
    const index = this.nextIndex++;
    return {
      index,
      spool: new SpoolFile(join(this.place.dir, `chunk-${index}.jsonl`)),
      firstSeq,
      count: 0,
      lineCount: 0,
      inlineBytes: 0,
      estimatedTokens: 0,
      imageOutput: false,
      invalid: [],
    };
  }

  private lineTooLarge(bytes: number, inline: number): boolean {
    if (this.mode === 'inline') return this.envelope + inline > this.maxInlineBytes;
    return bytes > this.maxFileBytes;
  }

  private describeLimit(): string {
    return this.mode === 'inline'
      ? `${this.maxInlineBytes}-byte inline request limit`
      : `${this.maxFileBytes}-byte file limit`;
  }

  private fits(c: OpenChunk, bytes: number, inline: number, tokens: number): boolean {
    if (c.estimatedTokens + tokens > this.maxTokens) return false;
    if (this.mode === 'inline') return this.envelope + c.inlineBytes + inline <= this.maxInlineBytes;
    return c.spool.bytes + bytes <= this.maxFileBytes;
  }

  private async closeCurrent(): Promise<Chunk> {
    const c = this.current!;
    this.current = undefined;
    const sha256 = await c.spool.close();
    const inlineTotal = this.envelope + c.inlineBytes;
    // 'auto' sends image-generation requests as files: their inline answers would come back in one
    // operation document of many megabytes a response (the seed's own recommendation).
    const mode =
      this.mode === 'file' || (this.mode === 'auto' && c.imageOutput)
        ? 'file'
        : this.mode === 'inline' || inlineTotal <= this.maxInlineBytes
          ? 'inline'
          : 'file';
    return {
      index: c.index,
      spoolPath: c.spool.path,
      firstSeq: c.firstSeq,
      count: c.count,
      lineCount: c.lineCount,
      bytes: c.spool.bytes,
      inlineBytes: inlineTotal,
      estimatedTokens: c.estimatedTokens,
      sha256,
      mode,
      invalid: c.invalid,
    };
  }
}

const spoolError = (err: Error) => wrapFsError(err, 'writing a spool file') as Error;

/** What the chunker uses of the run: the work dir; the journal (to cut chunks as an earlier run did) and events if there. */
export type ChunkerContext = Pick<RunContext, 'workDir'> & Partial<Pick<RunContext, 'journal' | 'events'>>;

/** RequestLine (object mode) → Chunk (object mode). */
export function sizeChunker(ctx: ChunkerContext, options: SizeChunkerOptions = {}): Transform {
  const opts = parseOptions(chunkerOptionsSchema, options, 'sizeChunker');
  const journal = ctx.journal;
  const builder = new ChunkBuilder({ ...opts, dir: ctx.workDir, knownChunkEnd: journal ? (i) => journal.knownChunkEnd(i) : undefined });
  const progress = ctx.events?.progress;
  let timer: NodeJS.Timeout | undefined;
  // Serialises timer flushes with writes: both touch the open chunk.
  let tail: Promise<unknown> = Promise.resolve();

  const emit = (stream: Transform, chunks: Chunk[]) => {
    for (const ch of chunks) {
      if (progress) {
        progress.chunksSpooled++;
        progress.bytesSpooled += ch.bytes;
      }
      stream.push(ch);
    }
  };
  const armTimer = (stream: Transform) => {
    if (!opts.flushAfterMs || timer || !builder.isOpen) return;
    timer = setTimeout(() => {
      timer = undefined;
      tail = tail.then(async () => {
        const ch = await builder.flush();
        if (ch) emit(stream, [ch]);
      }).catch((err: Error) => stream.destroy(spoolError(err)));
    }, opts.flushAfterMs);
  };
  const disarm = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
  };

  const stream = new Transform({
    writableObjectMode: true,
    readableObjectMode: true,
    writableHighWaterMark: 32,
    readableHighWaterMark: 1,
    transform(rl: RequestLine, _enc, cb: TransformCallback) {
      const run = () => {
        let res: Promise<Chunk[]> | Chunk[];
        try {
          res = builder.add(rl);
        } catch (err) {
          cb(err as Error);
          return;
        }
        const done = (chunks: Chunk[]) => {
          if (chunks.length) disarm();
          emit(this, chunks);
          armTimer(this);
          cb();
        };
        if (Array.isArray(res)) done(res);
        else return res.then(done, (err: Error) => cb(spoolError(err)));
      };
      if (opts.flushAfterMs) tail = tail.then(run);
      else void run();
    },
    flush(cb: TransformCallback) {
      disarm();
      tail
        .then(() => builder.flush())
        .then((ch) => {
          if (ch) emit(this, [ch]);
          cb();
        }, (err: Error) => cb(spoolError(err)));
    },
    destroy(err, cb) {
      disarm();
      builder.abandon().then(() => cb(err), () => cb(err));
    },
  });
  return stream;
}
