/**
 * A JSON array file → its elements, streamed (stream-json), so an array of
 * millions of records is never held in memory.
 */
import { Transform, type Readable } from 'node:stream';
import StreamArray from 'stream-json/streamers/StreamArray.js';
import { GeminiBatchError } from '../errors.js';

export function readJsonArray(source: Readable, opts: { name: string }): Readable {
  const parser = StreamArray.withParser();
  const values = new Transform({
    objectMode: true,
    highWaterMark: 64,
    transform(item: { key: number; value: unknown }, _enc, cb) {
      cb(null, item.value);
    },
  });
  // A syntax error is the user's file, not our bug: one sentence naming the file.
  const fail = (err: Error) =>
    values.destroy(new GeminiBatchError('ERR_INVALID_RECORD', `${opts.name} is not a valid JSON array: ${err.message}`));
  source.on('error', (err) => values.destroy(err));
  parser.on('error', fail);
  values.on('close', () => {
    source.destroy();
    parser.destroy();
  });
  return source.pipe(parser).pipe(values);
}
