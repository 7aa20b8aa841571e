/**
 * Stage 1: record → RequestLine. Maps a record to {key, request} (the user's
 * toRequest, or the record already is one), checks it as the service will
 * (field names, the SDK's config shape translated, the service's size limit),
 * writes the exact JSONL bytes that will be uploaded, and estimates the
 * request's tokens for the chunker's maxBatchTokens.
 */
import { parseOptions } from '../options/parse.js';
import { toRequestLineOptionsSchema } from '../options/record.js';
import { withStoreFalse } from '../internal/wire/store-field.js';
import { isUtf8 } from 'node:buffer';
import { Transform, type TransformCallback } from 'node:stream';
import { InvalidRecordError } from '../errors.js';
import type { BatchRecord, BatchTask, RequestLine } from '../types.js';
import { serializeRequestLine, serializeRequestLineWithTail } from '../internal/wire/wire-key.js';
import { checkRequest, describe, wantsImageOutput } from '../internal/wire/request-fields.js';
import { estimateRequestTokens } from '../internal/wire/token-estimate.js';
import { fastRequestLine } from '../internal/wire/request-line-fast.js';
import type { WireCodec } from '../backend/types.js';
import { bytesAt, skipSpace, skipSpaceBack, stringEnd } from '../internal/wire/json-bytes.js';

/**
 * The largest request line the service takes. PROTOCOL.md gives 20 MB for a
 * whole inline create body and 2 GB per file, and no per-request number for
 * file batches; a single GenerateContent call takes 20 MB, so 20,000,000
 * bytes per request is the number we hold lines to. A bigger line would be
 * refused by the service and come back as a missing result: here it is an
 * invalid record, before anything is uploaded.
 */
export const SERVICE_MAX_REQUEST_BYTES = 20_000_000;

/** Where the lines come from: shared by all the lines of one input (no cost per line). */
export interface LineOrigin {
  /** The input's name (a path, or stdin). */
  name?: string;
  /** Appended to an invalid record's message when it stops the run (the CLI names its --on-invalid flag here). */
  invalidHint?: string;
}

/** A record a reader could not even parse (e.g. an over-long line); becomes ERR_INVALID_RECORD. */
export class InvalidInput {
  constructor(
    readonly reason: string,
    readonly key?: string,
    /** 1-based physical line number in the input, when it came from lines. */
    readonly lineNo?: number,
    readonly origin?: LineOrigin,
  ) {}
}

/**
 * One line of a JSONL input, as bytes, with its 1-based physical line
 * number (blank lines counted): the record is its JSON; errors name the line.
 * With no toRequest the bytes travel as they are when they already have the
 * wire shape; with one, toRequest gets the parsed value.
 */
export class SourceLine {
  constructor(
    readonly bytes: Buffer,
    readonly lineNo: number,
    readonly origin?: LineOrigin,
  ) {}
}

/** One element of a JSON array input with where it comes from (the hint for its errors). */
export class SourceValue {
  constructor(
    readonly value: unknown,
    readonly origin?: LineOrigin,
  ) {}
}

/**
 * A record is an object ({key, request} by default, anything with toRequest),
 * a SourceLine or SourceValue, or, with no toRequest, one raw JSONL line of the Gemini batch
 * format (a string or Buffer): it is parsed once to check it and its bytes
 * are sent as they are when they already have the wire shape.
 */
export interface ToRequestLineOptions<R = BatchRecord> {
  /**
   * Record → {key, request}. When it throws, the record is invalid; an error
   * with a `key` property (string or number) names the record's own key, which
   * its error result then carries (else the key is null).
   */
  toRequest?: (record: R, seq: number) => BatchRecord;
  task?: BatchTask;
  onInvalid?: 'error' | 'emit';
  /** Longest serialised line accepted (default: the service's 20,000,000 bytes). */
  maxLineBytes?: number;
  /** Name errors of records that are not SourceLines by seq + 1 ("line N") instead of "record N". */
  lineNumbers?: boolean;
  /** Records already consumed upstream (the seq of the first record written). */
  firstSeq?: number;
  /** Called with every line made (progress counting without a stage of its own). */
  onLine?: (line: RequestLine) => void;
  /** The backend's line rules (refused request fields, its line encoding); default: the Developer API's, none extra. */
  wire?: WireCodec;
  /** false: write `"store": false` into every request (request storage opt-out). */
  store?: boolean;
}

interface Where {
  seq: number;
  key?: string;
  line?: number;
  origin?: LineOrigin;
}

/** The pure core: one record → its RequestLine, or an InvalidRecordError. */
export class RequestLineMaker<R = BatchRecord> {
  private readonly task: BatchTask;
  private readonly maxLineBytes: number;

  constructor(private readonly opts: ToRequestLineOptions<R>) {
    this.task = opts.task ?? 'generate';
    this.maxLineBytes = opts.maxLineBytes ?? SERVICE_MAX_REQUEST_BYTES;
  }

  make(input: R | InvalidInput | SourceLine | SourceValue, seq: number): RequestLine {
    let record = input;
    let origin: LineOrigin | undefined;
    if (input instanceof SourceValue) {
      record = input.value as R;
      origin = input.origin;
    }
    const where: Where = { seq, line: this.opts.lineNumbers ? seq + 1 : undefined, origin };
    if (record instanceof InvalidInput) {
      return this.invalid(record.reason, { ...where, key: record.key, line: record.lineNo ?? where.line, origin: record.origin });
    }
    let raw: Buffer | undefined;
    let mapped: unknown;
    if (record instanceof SourceLine) {
      where.line = record.lineNo;
      where.origin = record.origin;
      raw = record.bytes;
    } else if (!this.opts.toRequest && (Buffer.isBuffer(record) || typeof record === 'string')) {
      raw = typeof record === 'string' ? Buffer.from(record) : record;
    }
    if (raw !== undefined) {
      if (!isUtf8(raw)) return this.invalid('the line is not valid UTF-8 text; save the file as UTF-8', where);
      if (!this.opts.toRequest && this.task === 'generate') {
        // The usual line is checked on its bytes and sent as it is: no parse.
        const wire = this.opts.wire;
        const fast = fastRequestLine(raw, seq, wire);
        // A line the backend may refuse goes the parsing way, where refuse() names what it refuses.
        if (fast && !(wire?.refuse && wire.suspect?.(raw, fast.fields) !== false)) {
          return this.finish(seq, fast.key, fast.line, false, { ...where, key: fast.key }, fast.fields, fast.tailed);
        }
      }
      try {
        mapped = JSON.parse(raw.toString('utf8'));
      } catch (err) {
        // A line cut or garbled after its key (`{"key":"k3","request":{...`) still names its own record.
        if (!this.opts.toRequest) where.key = keyFromHead(raw.subarray(0, 512));
        return this.invalid(`not valid JSON: ${(err as Error).message}; each line must be one JSON object`, where);
      }
    } else {
      mapped = record;
    }
    if (this.opts.toRequest && (raw === undefined || record instanceof SourceLine)) {
      try {
        mapped = this.opts.toRequest(mapped as R, seq);
      } catch (err) {
        const own = (err as { key?: unknown } | null)?.key;
        if (typeof own === 'string' || (typeof own === 'number' && Number.isFinite(own))) where.key = String(own);
        return this.invalid(`could not make a request of this record: ${err instanceof Error ? err.message : String(err)}`, where);
      }
      raw = undefined; // the request is toRequest's, not the line's bytes
    }
    if (mapped === null || typeof mapped !== 'object' || Array.isArray(mapped)) {
      return this.invalid(`expected an object {key, request}, got ${describe(mapped)}`, where);
    }
    const rec = mapped as { key?: unknown; request?: unknown };
    const key = this.keyOf(rec.key, raw, seq, where);
    if (typeof key !== 'string') return key;
    where.key = key;
    if (rec.request === undefined) return this.invalid('missing "request" (a line is {"key": ..., "request": {...}})', where);
    const check = checkRequest(rec.request, this.task);
    if (!check.ok) return this.invalid(check.problem, where);
    const refused = this.opts.wire?.refuse?.(check.request);
    if (refused) return this.invalid(refused, where);
    const fields = new Set(Object.keys(check.request));
    const kept = raw && !check.translated && typeof rec.key !== 'number' && spliceRawLine(raw, seq, rec);
    // The backend's request tail goes in as the request is serialised (one encoding, not encodeLine's second copy).
    const tail = kept ? undefined : this.opts.wire?.requestTail?.(seq, fields);
    const tailed = tail === undefined ? undefined : serializeRequestLineWithTail(seq, key, check.request, tail);
    const line = kept || tailed || serializeRequestLine(seq, key, check.request);
    return this.finish(seq, key, line, this.task === 'generate' && wantsImageOutput(check.request), where, fields, tailed !== undefined);
  }

  /** The size limit, the token estimate, the image flag: the last steps of every valid line. */
  /** `encoded`: the line already holds what the backend's codec adds (its request tail). */
  private finish(seq: number, key: string, made: Buffer, imageOutput: boolean, where: Where, fields?: ReadonlySet<string>, encoded = false): RequestLine {
    const line = this.opts.store === false ? withStoreFalse(made) : made;
    if (line.length > this.maxLineBytes) {
      const limit = this.opts.maxLineBytes === undefined ? "the service's limit of" : 'the line limit of';
      return this.invalid(
        `the request is ${line.length} bytes serialised, over ${limit} ${this.maxLineBytes} bytes; make it smaller (large media can go by fileData URI)`,
        where,
        'ERR_RECORD_TOO_LARGE',
      );
    }
    const encode = this.opts.wire?.encodeLine;
    const rl: RequestLine = { seq, key, line: encode && !encoded ? encode(line, seq, fields) : line, estimatedTokens: estimateRequestTokens(line) };
    if (imageOutput) rl.imageOutput = true;
    return rl;
  }

  /** The user's key as a string, exactly as given; or the invalid result when it cannot be kept. */
  private keyOf(k: unknown, raw: Buffer | undefined, seq: number, where: Where): string | RequestLine {
    if (k === undefined) return String(seq);
    if (typeof k === 'string') return k;
    if (typeof k !== 'number' || !Number.isFinite(k)) return this.invalid(`key must be a string or a number, got ${describe(k)}`, where);
    // A number key keeps its source text (12345678901234567890 stays that, not 12345678901234567000).
    const text = raw && numberKeyText(raw);
    if (text !== undefined && Number(text) === k) return text; // (a line with two "key" members keeps JSON.parse's)
    if (Number.isInteger(k) && !Number.isSafeInteger(k)) {
      return this.invalid(
        `key ${String(k)} is a number beyond 2^53, which JSON numbers do not keep exactly; write the key as a string ("key": "...")`,
        where,
      );
    }
    return String(k);
  }

  private invalid(what: string, where: Where, code: 'ERR_INVALID_RECORD' | 'ERR_RECORD_TOO_LARGE' = 'ERR_INVALID_RECORD'): RequestLine {
    const stops = this.opts.onInvalid !== 'emit';
    const hint = stops && where.origin?.invalidHint ? `; ${where.origin.invalidHint}` : '';
    const err = new InvalidRecordError(code, what + hint, where);
    if (stops) throw err;
    // Not the seq as a string: that may be another record's key (ids 1, 2, 3...). The message names the line.
    return {
      seq: where.seq,
      key: where.key ?? null,
      invalid: { code: 400, status: 'INVALID_RECORD', message: err.message },
    };
  }
}

/**
 * The key of a Gemini batch line from its first bytes, when they start
 * `{"key": "..."` or `{"key": 123`: names a line that cannot be parsed whole
 * (torn, garbled later, or too long to read). Undefined otherwise.
 */
export function keyFromHead(head: Buffer): string | undefined {
  const m = /^\s*\{\s*"key"\s*:\s*("(?:[^"\\]|\\.)*"|-?[0-9][0-9.eE+-]*)\s*[,}]/.exec(head.toString('utf8'));
  if (!m) return undefined;
  try {
    const k: unknown = JSON.parse(m[1]!);
    return typeof k === 'string' ? k : typeof k === 'number' && Number.isFinite(k) ? m[1] : undefined;
  } catch {
    return undefined;
  }
}

const KEY = Buffer.from('"key"');

/** The source text of a number key that is the first or the last member of the line, else undefined. */
export function numberKeyText(raw: Buffer): string | undefined {
  const isNum = (c: number | undefined) => c !== undefined && ((c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45);
  // First member: { "key" : 123
  let i = skipSpace(raw, 0);
  if (raw[i] === 0x7b) {
    i = skipSpace(raw, i + 1);
    if (bytesAt(raw, i, KEY)) {
      i = skipSpace(raw, i + KEY.length);
      if (raw[i] === 0x3a) {
        const from = skipSpace(raw, i + 1);
        let to = from;
        while (isNum(raw[to])) to++;
        if (to > from) return raw.toString('latin1', from, to);
      }
    }
  }
  // Last member: , "key" : 123 }
  let e = skipSpaceBack(raw, raw.length - 1);
  if (raw[e] !== 0x7d) return undefined;
  e = skipSpaceBack(raw, e - 1);
  let from = e;
  while (from >= 0 && isNum(raw[from])) from--;
  if (from === e) return undefined;
  let b = skipSpaceBack(raw, from);
  if (raw[b] !== 0x3a) return undefined;
  b = skipSpaceBack(raw, b - 1);
  if (!bytesAt(raw, b - KEY.length + 1, KEY)) return undefined;
  return raw.toString('latin1', from + 1, e + 1);
}

const KEY_HEAD = Buffer.from('{"key":"');
const REQUEST_AFTER_KEY = Buffer.from(',"request":');
const REQUEST_HEAD = Buffer.from('{"request":');
const NEWLINE = Buffer.from('\n');

/**
 * The wire line made from the raw line, without serialising the request
 * again, when the raw line already has our exact shape: `{"key":"k","request":R}`
 * (no escapes in the key, no spaces, nothing else) or `{"request":R}`.
 * Undefined when it does not; the caller then serialises.
 */
function spliceRawLine(raw: Buffer, seq: number, rec: { key?: unknown; request?: unknown }): Buffer | undefined {
  const end = skipSpaceBack(raw, raw.length - 1) + 1;
  if (raw[end - 1] !== 0x7d) return undefined;
  let fields = 0;
  for (const _ in rec) fields++;
  if (typeof rec.key === 'string' && fields === 2 && bytesAt(raw, 0, KEY_HEAD)) {
    const s = stringEnd(raw, KEY_HEAD.length - 1);
    if (s.end === -1 || s.escaped || !bytesAt(raw, s.end, REQUEST_AFTER_KEY)) return undefined;
    return Buffer.concat([Buffer.from(`{"key":"${seq}:`), raw.subarray(KEY_HEAD.length, end), NEWLINE]);
  }
  if (rec.key === undefined && fields === 1 && bytesAt(raw, 0, REQUEST_HEAD)) {
    return Buffer.concat([Buffer.from(`{"key":"${seq}:${seq}",`), raw.subarray(1, end), NEWLINE]);
  }
  return undefined;
}

/** record (object mode) → RequestLine (object mode). */
export function toRequestLine<R = BatchRecord>(options: ToRequestLineOptions<R> = {}): Transform {
  // Validated once, up front, like every stage (a bad option throws ERR_INVALID_OPTIONS here, not per record).
  const opts = parseOptions(toRequestLineOptionsSchema, options, 'toRequestLine') as ToRequestLineOptions<R>;
  const maker = new RequestLineMaker<R>(opts);
  let seq = opts.firstSeq ?? 0;
  const onLine = opts.onLine;
  return new Transform({
    objectMode: true,
    // Records buffered here outlive young-generation GCs; few are enough to keep the chunker busy.
    highWaterMark: 16,
    transform(record: R | InvalidInput | SourceLine | SourceValue, _enc: BufferEncoding, cb: TransformCallback) {
      let rl: RequestLine;
      try {
        rl = maker.make(record, seq++);
      } catch (err) {
        cb(err as Error);
        return;
      }
      onLine?.(rl);
      cb(null, rl);
    },
  });
}
