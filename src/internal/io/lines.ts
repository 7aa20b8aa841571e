/**
 * Line access to JSONL files on disk without streams on the hot path:
 * block reads (1 MiB) with fs.readSync. Local files in the page cache read
 * in microseconds, far cheaper than a thread-pool hop per line.
 */
import { closeSync, openSync, readSync, fstatSync } from 'node:fs';

// 256 KiB: large enough to amortise syscalls, small enough not to pile up as garbage between GCs.
const BLOCK = 256 << 10;

/**
 * Visit every line of a file with its byte offset (the newline excluded),
 * handing the event loop back every `yieldEveryBytes`: a 2 GB results file
 * takes seconds to read, and uploads and polls of other jobs must not stall
 * meanwhile.
 */
export async function forEachLineAsync(
  path: string,
  visit: (line: Buffer, offset: number) => void,
  yieldEveryBytes = 16 << 20,
): Promise<void> {
  const walk = walkLines(path, visit);
  let since = 0;
  for (let step = walk.next(); !step.done; step = walk.next()) {
    since += step.value;
    if (since >= yieldEveryBytes) {
      since = 0;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
}

/** The block loop: yields the bytes read after each block. */
function* walkLines(path: string, visit: (line: Buffer, offset: number) => void): Generator<number, void, void> {
  const fd = openSync(path, 'r');
  try {
    let buf = Buffer.allocUnsafe(BLOCK);
    let filled = 0;
    let base = 0; // file offset of buf[0]
    for (;;) {
      if (filled === buf.length) {
        // A line longer than the buffer: grow (bounded by the longest line).
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, filled);
        buf = bigger;
      }
      const n = readSync(fd, buf, filled, buf.length - filled, base + filled);
      const end = filled + n;
      let start = 0;
      for (;;) {
        const nl = buf.indexOf(0x0a, start);
        if (nl === -1 || nl >= end) break;
        if (nl > start) visit(buf.subarray(start, nl), base + start);
        start = nl + 1;
      }
      if (n === 0) {
        if (end > start) visit(buf.subarray(start, end), base + start);
        return;
      }
      buf.copy(buf, 0, start, end);
      base += start;
      filled = end - start;
      yield n;
    }
  } finally {
    closeSync(fd);
  }
}

/** How many runs of nearby reads a LineReader follows at once (one block each, allocated when a run starts). */
const STREAMS = 4;

/** One run of nearby reads: a block of the file and where it sits. */
interface Stream {
  block: Buffer;
  start: number;
  end: number;
  /** When it last served a read (the least recent one is reused for a new run). */
  used: number;
}

/**
 * Random access to lines by (offset, length), with a block cache for runs of
 * nearby reads. A results file is often a few ordered runs interleaved (the
 * final predictions, then the rows only an incremental file held; lines put
 * back in order within a window): each run streams through a block of its
 * own, so reading them in seq order costs a block read per 256 KiB, not one
 * read per jump between runs. A line it returns is valid until the next read.
 */
export class LineReader {
  private readonly fd: number;
  private readonly streams: Stream[] = [];
  private clock = 0;
  /** The longest line read so far that did not fit the block, freed with the reader. */
  private large: Buffer | undefined;
  readonly size: number;
  /** Reads made from the file so far (what the block cache saves is read off this). */
  reads = 0;

  constructor(path: string) {
    this.fd = openSync(path, 'r');
    this.size = fstatSync(this.fd).size;
  }

  read(offset: number, length: number): Buffer {
    const tick = ++this.clock;
    for (const s of this.streams) {
      if (offset >= s.start && offset + length <= s.end) {
        s.used = tick;
        return s.block.subarray(offset - s.start, offset - s.start + length);
      }
    }
    if (length > BLOCK) {
      // A line longer than the block (a 1 MB image answer) reads into one buffer kept for
      // the next such line: a fresh one per line was a fresh mmap and its page faults.
      if (!this.large || this.large.length < length) this.large = Buffer.allocUnsafe(length);
      this.reads++;
      readSync(this.fd, this.large, 0, length, offset);
      return this.large.subarray(0, length);
    }
    // A run going on (the line starts inside or right after a stream's block) reads a whole
    // block; a jump elsewhere starts a run with one small read, so a shuffled file costs one
    // small read per line instead of a block per line.
    let s = this.streams.find((t) => offset >= t.start && offset <= t.end);
    const sequential = s !== undefined;
    s ??= this.freeStream();
    const want = sequential ? BLOCK : Math.min(BLOCK, Math.max(length, 4096));
    const n = readSync(this.fd, s.block, 0, want, offset);
    this.reads++;
    s.start = offset;
    s.end = offset + n;
    s.used = tick;
    return s.block.subarray(0, length);
  }

  /** A new stream while there are fewer than STREAMS, else the least recently used one. */
  private freeStream(): Stream {
    if (this.streams.length < STREAMS) {
      const s: Stream = { block: Buffer.allocUnsafe(BLOCK), start: 0, end: 0, used: 0 };
      this.streams.push(s);
      return s;
    }
    let lru = this.streams[0]!;
    for (const t of this.streams) if (t.used < lru.used) lru = t;
    return lru;
  }

  close(): void {
    this.large = undefined;
    this.streams.length = 0;
    closeSync(this.fd);
  }
}

/** Sequential line reader pulling one line at a time (for walking a spool file alongside results). */
export class SequentialLines {
  private readonly fd: number;
  private buf = Buffer.allocUnsafe(BLOCK);
  private start = 0;
  private end = 0;
  private pos = 0; // file offset of buf[end]
  private eof = false;

  constructor(path: string) {
    this.fd = openSync(path, 'r');
  }

  /** The next non-empty line (valid until the next call), or undefined at the end. */
  next(): Buffer | undefined {
    for (;;) {
      const nl = this.buf.indexOf(0x0a, this.start);
      if (nl !== -1 && nl < this.end) {
        const line = this.buf.subarray(this.start, nl);
        this.start = nl + 1;
        if (line.length) return line;
        continue;
      }
      if (this.eof) {
        if (this.end > this.start) {
          const line = this.buf.subarray(this.start, this.end);
          this.start = this.end;
          return line;
        }
        return undefined;
      }
      // Keep the partial line, refill behind it.
      const rest = this.end - this.start;
      if (rest === this.buf.length) {
        const bigger = Buffer.allocUnsafe(this.buf.length * 2);
        this.buf.copy(bigger, 0, this.start, this.end);
        this.buf = bigger;
      } else {
        this.buf.copy(this.buf, 0, this.start, this.end);
      }
      this.start = 0;
      this.end = rest;
      const n = readSync(this.fd, this.buf, this.end, this.buf.length - this.end, this.pos);
      if (n === 0) this.eof = true;
      this.end += n;
      this.pos += n;
    }
  }

  close(): void {
    closeSync(this.fd);
  }
}
