/**
 * Stage 1: record → RequestLine. Maps a record to {key, request} (the user's
 * toRequest, or the record already is one), validates it, serialises the
 * exact JSONL bytes that will be uploaded.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { z } from 'zod';
import { InvalidRecordError } from '../errors.js';
import type { BatchRecord, BatchTask, RequestLine } from '../types.js';
import { serializeRequestLine } from './wire-line.js';

/** A record a reader could not even parse (e.g. a non-JSON line); becomes ERR_INVALID_RECORD. */
export class InvalidInput {
  constructor(
    readonly reason: string,
    readonly key?: string,
  ) {}
}

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
}

const keySchema = z.union([z.string(), z.number().finite()]).optional();
const generateRequest = z.looseObject({
  contents: z.array(z.unknown(), 'request.contents must be an array of Content').min(1, 'request.contents is empty'),
});
const embedRequest = z.looseObject({
  content: z.looseObject({ parts: z.array(z.unknown(), 'request.content.parts must be an array') }, 'request.content is missing'),
});

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
    let mapped: unknown;
    try {
      mapped = this.opts.toRequest ? this.opts.toRequest(record as R, seq) : record;
    } catch (err) {
      return this.invalid(`toRequest threw: ${err instanceof Error ? err.message : String(err)}`, where());
    }
    if (mapped === null || typeof mapped !== 'object' || Array.isArray(mapped)) {
      return this.invalid(`expected an object {key, request}, got ${describe(mapped)}`, where());
    }
    const rec = mapped as { key?: unknown; request?: unknown };
    const keyCheck = keySchema.safeParse(rec.key);
    if (!keyCheck.success) return this.invalid(`key must be a string or a number, got ${describe(rec.key)}`, where());
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
    const line = serializeRequestLine(seq, key, rec.request);
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

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)?.slice(0, 40)}`;
}

/** record (object mode) → RequestLine (object mode). */
export function toRequestLine<R = BatchRecord>(opts: ToRequestLineOptions<R> = {}): Transform {
  const maker = new RequestLineMaker<R>(opts);
  let seq = opts.firstSeq ?? 0;
  return new Transform({
    objectMode: true,
    highWaterMark: 64,
    transform(record: R | InvalidInput, _enc: BufferEncoding, cb: TransformCallback) {
      try {
        cb(null, maker.make(record, seq++));
      } catch (err) {
        cb(err as Error);
      }
    },
  });
}
