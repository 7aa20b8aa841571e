/**
 * A JSON array file → its elements, streamed (stream-json), so an array of
 * millions of records is never held in memory.
 */
import { Transform, type Readable } from 'node:stream';
import Parser from 'stream-json/Parser.js';
import StreamArray from 'stream-json/streamers/StreamArray.js';
import { GeminiBatchError } from '../errors.js';
import { SourceValue, type LineOrigin } from '../stages/to-request-line.js';

/** The part of stream-json's (internal) Assembler we hook into. */
interface NumberAssembler {
  key: string | null;
  stack: unknown[];
  current: unknown;
  numberValue(text: string): void;
  _saveValue(value: unknown): void;
}

/**
 * Keep an element's `key` exactly as written: a number key JSON cannot hold
 * exactly (12345678901234567890, or 1.50) becomes its source text, as the
 * JSONL path keeps it. stream-json parses numbers with parseFloat inside its
 * Assembler; its numberValue is wrapped for the one member that matters, an
 * element's own `key` (the assembler's stack is 2 deep there). Without that
 * internal (another stream-json), keys go through unchanged and stage 1
 * refuses a key beyond 2^53 with a clear message.
 */
function keepKeyText(streamer: StreamArray): void {
  const assembler = (streamer as unknown as { _assembler?: NumberAssembler })._assembler;
  if (!assembler || typeof assembler.numberValue !== 'function' || typeof assembler._saveValue !== 'function') return;
  const numberValue = assembler.numberValue;
  assembler.numberValue = function (this: NumberAssembler, text: string) {
    if (this.key === 'key' && this.stack.length === 2 && !Array.isArray(this.current) && String(parseFloat(text)) !== text) {
      this._saveValue(text);
      return;
    }
    numberValue.call(this, text);
  };
}

/**
 * Each element goes on as a SourceValue carrying the input's name and the
 * hint for its errors (toRequestLine unwraps it).
 */
export function readJsonArray(source: Readable, opts: { name: string; invalidHint?: string }): Readable {
  const origin: LineOrigin = { name: opts.name, ...(opts.invalidHint ? { invalidHint: opts.invalidHint } : {}) };
  const parser = new Parser();
  const streamer = new StreamArray();
  keepKeyText(streamer);
  const values = new Transform({
    objectMode: true,
    highWaterMark: 64,
    transform(item: { key: number; value: unknown }, _enc, cb) {
      cb(null, new SourceValue(item.value, origin));
    },
  });
  // A syntax error is the user's file, not our bug: one sentence naming the file.
  const fail = (err: Error) =>
    values.destroy(new GeminiBatchError('ERR_INVALID_RECORD', `${opts.name} is not a valid JSON array: ${err.message}`));
  source.on('error', (err) => values.destroy(err));
  parser.on('error', fail);
  streamer.on('error', fail);
  values.on('close', () => {
    source.destroy();
    parser.destroy();
    streamer.destroy();
  });
  return source.pipe(parser).pipe(streamer).pipe(values);
}
