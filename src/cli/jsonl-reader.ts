/**
 * JSONL bytes → one SourceLine per line: the line's bytes (never decoded
 * here: toRequestLine parses each once and sends valid lines as they are)
 * with its 1-based physical line number, so errors name the line the user
 * sees in an editor. Blank lines are skipped and counted (stats.blankLines),
 * never records. A line longer than the limit becomes an InvalidInput for
 * its line, and reading goes on after it, so `--on-invalid emit` covers it
 * like any other bad record; its bytes are dropped as they come (memory stays
 * bounded by the limit).
 */
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { InvalidInput, keyFromHead, SourceLine, type LineOrigin } from '../stages/to-request-line.js';

/** Bytes in one line before we give up on it (a line is buffered whole). */
export const DEFAULT_MAX_LINE_CHARS = 64 * 1024 * 1024;

export interface ReadJsonlOptions {
  name: string;
  /** Longest line in bytes (the name is older than the unit). */
  maxLineChars?: number;
  /** Unused: lines always go on as bytes, and toRequestLine parses them once (kept for callers that pass it). */
  raw?: boolean;
  /** Appended to the message of a bad line that stops the run (the CLI names --on-invalid emit). */
  invalidHint?: string;
}

export interface JsonlStats {
  /** Physical lines read, blank ones included. */
  lines: number;
  /** Blank lines skipped (whitespace only). */
  blankLines: number;
  /** The first blank line's number, for a message that points at it. */
  firstBlankLine?: number;
}

export type JsonlRecords = Readable & { readonly stats: JsonlStats };

const NL = 0x0a;
/** Bytes of an over-long line kept to name its key in the message. */
const HEAD_BYTES = 512;

const isBlank = (line: Buffer): boolean => {
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false;
  }
  return true;
};

export function readJsonl(source: Readable, opts: ReadJsonlOptions): JsonlRecords {
  const max = opts.maxLineChars ?? DEFAULT_MAX_LINE_CHARS;
  const origin: LineOrigin = { name: opts.name, ...(opts.invalidHint ? { invalidHint: opts.invalidHint } : {}) };
  const stats: JsonlStats = { lines: 0, blankLines: 0 };
  let parts: Buffer[] = [];
  let pending = 0;
  // Over the limit: the rest of the line is dropped as it comes; its head names the key.
  let tooLong = false;
  let head: Buffer | undefined;

  const tooLongRecord = (lineNo: number) =>
    new InvalidInput(
      `the line is longer than ${max} bytes, the most read as one line (raise --max-line-bytes if it is meant to be; the service takes at most 20,000,000 bytes a request)`,
      head && keyFromHead(head),
      lineNo,
      origin,
    );

  const endLine = (out: Transform, last: Buffer): void => {
    const lineNo = ++stats.lines;
    if (tooLong) {
      out.push(tooLongRecord(lineNo));
      tooLong = false;
      head = undefined;
      parts = [];
      pending = 0;
      return;
    }
    let line = parts.length === 0 ? last : Buffer.concat([...parts, last]);
    parts = [];
    pending = 0;
    if (lineNo === 1 && line[0] === 0xef && line[1] === 0xbb && line[2] === 0xbf) line = line.subarray(3);
    if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, -1);
    if (isBlank(line)) {
      stats.blankLines++;
      stats.firstBlankLine ??= lineNo;
      return;
    }
    out.push(new SourceLine(line, lineNo, origin));
  };

  /** A piece of a line with no newline yet: keep it, or start dropping the line. */
  const keep = (piece: Buffer): void => {
    if (tooLong || piece.length === 0) return;
    if (pending + piece.length > max) {
      tooLong = true;
      head = Buffer.concat([...parts, piece]).subarray(0, HEAD_BYTES);
      head = Buffer.from(head); // a copy: the read buffer it came from can go
      parts = [];
      pending = 0;
      return;
    }
    parts.push(piece);
    pending += piece.length;
  };

  const splitter = new Transform({
    readableObjectMode: true,
    readableHighWaterMark: 64,
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      let start = 0;
      for (let nl = chunk.indexOf(NL, start); nl !== -1; nl = chunk.indexOf(NL, start)) {
        const piece = chunk.subarray(start, nl);
        if (!tooLong && pending + piece.length > max) keep(piece);
        endLine(this, piece);
        start = nl + 1;
      }
      keep(chunk.subarray(start));
      cb();
    },
    flush(cb: TransformCallback) {
      if (tooLong || pending > 0) endLine(this, Buffer.alloc(0));
      cb();
    },
  });
  source.on('error', (err) => splitter.destroy(err));
  splitter.on('close', () => source.destroy());
  return Object.assign(source.pipe(splitter), { stats });
}
