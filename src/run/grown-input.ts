/**
 * A run recorded complete, fed again (issue 20, item 4): the records it
 * delivered are skipped (the chunker cuts them as before and the journal
 * checks each chunk's hash, so a changed record is ERR_STATE_MISMATCH), and
 * only records past its end are sent. An input that brings none past them is
 * the same run again: ERR_STATE_COMPLETE, as a completed run always was.
 */
import { Transform } from 'node:stream';
import { completeError } from './context.js';

/** Counts the records going by; at their end, refuses an input with nothing past `delivered`. */
export function pastDelivered(delivered: number, stateDir: string): Transform {
  let records = 0;
  return new Transform({
    objectMode: true,
    transform(record: unknown, _enc, cb) {
      records++;
      cb(null, record);
    },
    flush(cb) {
      if (records > delivered) return cb();
      cb(completeError(stateDir, `its ${delivered} results were delivered, and the input brings ${records < delivered ? `only ${records} records` : 'no record past them'}`));
    },
  });
}
