/**
 * Stage 1: record → RequestLine. Maps a record to {key, request} (the user's
 * toRequest, or the record already is one), validates it, serialises the
 * exact JSONL bytes that will be uploaded.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { z } from 'zod/v3';
import { InvalidRecordError } from '../errors.js';
import type { BatchRecord, BatchTask, RequestLine } from '../types.js';
import { serializeRequestLine } from '../internal/wire/wire-line.js';

/** A record a reader could not even parse (e.g. a non-JSON line); becomes ERR_INVALID_RECORD. */
export class InvalidInput {
  constructor(
    readonly reason: string,
    readonly key?: string,
  ) {}
}

/**
 * A record is an object ({key, request} by default, anything with toRequest),
 * or, with no toRequest, one raw JSONL line of the Gemini batch format (a
 * string or Buffer): it is parsed once to validate it and its bytes are sent
 * as they are when they already have the wire shape.
 */
export interface ToRequestLineOptions<R = BatchRecord> {
  toRequest?: (record: R, seq: number) => BatchRecord;
  task?: BatchTask;
  onInvalid?: 'error' | 'emit';
  /** Longest serialised line accepted. */
  maxLineBytes?: number;
  /** Name errors by 1-based line number (seq + 1 + lineOffset) instead of record seq: for JSONL readers. */
  lineNumbers?: boolean;
  /** Records already consumed upstream (the seq of the first record written). */
  firstSeq?: number;
  /** Called with every line made (progress counting without a stage of its own). */
  onLine?: (line: RequestLine) => void;
}

const wrongType = (message: string) => ({ invalid_type_error: message, required_error: message });
const generateRequest = z
  .object({
    contents: z.array(z.unknown(), wrongType('request.contents must be an array of Content')).min(1, 'request.contents is empty'),
  })
  .passthrough();
const embedRequest = z
  .object({
    content: z
      .object({ parts: z.array(z.unknown(), wrongType('request.content.parts must be an array')) }, wrongType('request.content is missing'))
      .passthrough(),
  })
  .passthrough();

/** The pure core: one record → its RequestLine, or an InvalidRecordError. */
export class RequestLineMaker<R = BatchRecord> {
  private readonly requestSchema: typeof generateRequest | typeof embedRequest;

  constructor(private readonly opts: ToRequestLineOptions<R>) {
    this.requestSchema = opts.task === 'embed' ? embedRequest : generateRequest;
  }

  make(record: R | InvalidInput, seq: number): RequestLine {
    const where = (key?: string) => ({ seq, key, line: this.opts.lineNumbers ? seq + 1 : undefined });
    if (record instanceof InvalidInput) {
      return this.invalid(record.reason, where(record.key));
    }
    let raw: Buffer | string | undefined;
    let mapped: unknown;
    if (!this.opts.toRequest && (Buffer.isBuffer(record) || typeof record === 'string')) {
      // A raw JSONL line of the Gemini batch format: parsed once, to validate it.
      raw = record;
      try {
        mapped = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
      } catch (err) {
        return this.invalid(`not valid JSON: ${(err as Error).message}`, where());
      }
    } else {
      try {
        mapped = this.opts.toRequest ? this.opts.toRequest(record as R, seq) : record;
      } catch (err) {
        return this.invalid(`toRequest threw: ${err instanceof Error ? err.message : String(err)}`, where());
      }
    }
    if (mapped === null || typeof mapped !== 'object' || Array.isArray(mapped)) {
      return this.invalid(`expected an object {key, request}, got ${describe(mapped)}`, where());
    }
    const rec = mapped as { key?: unknown; request?: unknown };
    const keyOk = rec.key === undefined || typeof rec.key === 'string' || (typeof rec.key === 'number' && Number.isFinite(rec.key));
    if (!keyOk) return this.invalid(`key must be a string or a number, got ${describe(rec.key)}`, where());
    const key = rec.key === undefined ? String(seq) : String(rec.key);
    if (rec.request === undefined) return this.invalid('missing "request"', where(key));
    if (rec.request === null || typeof rec.request !== 'object' || Array.isArray(rec.request)) {
      return this.invalid(`"request" must be an object, got ${describe(rec.request)}`, where(key));
    }
    const check = this.requestSchema.safeParse(rec.request);
    if (!check.success) {
      const issue = check.error.issues[0]!;
      const path = ['request', ...issue.path].join('.');
      const msg = issue.message.startsWith('request') ? issue.message : `${path}: ${issue.message}`;
      return this.invalid(msg, where(key));
    }
    const line = (raw && spliceRawLine(raw, seq, rec)) || serializeRequestLine(seq, key, rec.request);
    if (this.opts.maxLineBytes !== undefined && line.length > this.opts.maxLineBytes) {
      return this.invalid(
        `the request is ${line.length} bytes serialised, over the ${this.opts.maxLineBytes}-byte line limit`,
        where(key),
      );
    }
    return { seq, key, line };
  }

  private invalid(what: string, where: { seq: number; key?: string; line?: number }): RequestLine {
    const err = new InvalidRecordError('ERR_INVALID_RECORD', what, where);
    if (this.opts.onInvalid !== 'emit') throw err;
    return {
      seq: where.seq,
      key: where.key ?? String(where.seq),
      invalid: { code: 400, status: 'INVALID_RECORD', message: err.message },
    };
  }
}

const KEY_HEAD = '{"key":"';
const REQUEST_AFTER_KEY = ',"request":';
const REQUEST_HEAD = '{"request":';

/**
 * The wire line made from the raw line, without serialising the request
 * again, when the raw line already has our exact shape: `{"key":"k","request":R}`
 * (no escapes in the key, no spaces, nothing else) or `{"request":R}`.
 * Undefined when it does not; the caller then serialises.
 */
function spliceRawLine(raw: Buffer | string, seq: number, rec: { key?: unknown; request?: unknown }): Buffer | undefined {
  // Only the ASCII frame of the line is looked at, so latin1 offsets of a Buffer are byte offsets.
  const text = typeof raw === 'string' ? raw : raw.toString('latin1');
  let end = text.length;
  while (end > 0 && /[\r\n\t ]/.test(text[end - 1]!)) end--;
  if (text.charCodeAt(end - 1) !== 0x7d) return undefined;
  const fields = Object.keys(rec).length;
  let head: string;
  let from: number;
  if (typeof rec.key === 'string' && fields === 2 && text.startsWith(KEY_HEAD)) {
    const q = text.indexOf('"', KEY_HEAD.length);
    const escape = text.indexOf('\\', KEY_HEAD.length);
    if (q === -1 || (escape !== -1 && escape < q) || !text.startsWith(REQUEST_AFTER_KEY, q + 1)) return undefined;
    head = `{"key":"${seq}:`;
    from = KEY_HEAD.length;
  } else if (rec.key === undefined && fields === 1 && text.startsWith(REQUEST_HEAD)) {
    head = `{"key":"${seq}:${seq}",`;
    from = 1;
  } else {
    return undefined;
  }
  if (typeof raw === 'string') return Buffer.from(head + raw.slice(from, end) + '\n');
  return Buffer.concat([Buffer.from(head), raw.subarray(from, end), NEWLINE]);
}
const NEWLINE = Buffer.from('\n');

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)?.slice(0, 40)}`;
}

/** record (object mode) → RequestLine (object mode). */
export function toRequestLine<R = BatchRecord>(opts: ToRequestLineOptions<R> = {}): Transform {
  const maker = new RequestLineMaker<R>(opts);
  let seq = opts.firstSeq ?? 0;
  const onLine = opts.onLine;
  return new Transform({
    objectMode: true,
    // Records buffered here outlive young-generation GCs; few are enough to keep the chunker busy.
    highWaterMark: 16,
    transform(record: R | InvalidInput, _enc: BufferEncoding, cb: TransformCallback) {
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
