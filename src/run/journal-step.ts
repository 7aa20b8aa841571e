/**
 * The journal step between the chunker and the uploader (with a stateDir):
 * each chunk is recorded, or checked against the earlier run's record
 * (ERR_STATE_MISMATCH when the input differs), before anything is uploaded.
 */
import { Transform } from 'node:stream';
import type { RunJournal } from '../journal/types.js';
import type { Chunk } from '../types.js';

export function journalChunks(journal: RunJournal): Transform {
  return new Transform({
    objectMode: true,
    highWaterMark: 1,
    transform(chunk: Chunk, _enc, cb) {
      journal.chunkSpooled(chunk).then(() => cb(null, chunk), cb);
    },
  });
}
