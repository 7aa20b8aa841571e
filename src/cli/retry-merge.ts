/**
 * The two ends of a resend: pick the records to send again out of INPUT, and
 * put their new result lines back into OUT's line order. Both stream: INPUT
 * and OUT are read once, front to back, beside the resend's results (which
 * come back in the order they were sent, i.e. ascending line number).
 */
import { Transform, type TransformCallback } from 'node:stream';
import { GeminiBatchError } from '../errors.js';
import { outLines, splitLines } from './out-file.js';
import { lineError, withKeyOf } from './out-line.js';

/** INPUT's records whose position (their OUT line) is in `seqs`; the others are dropped. */
export function selectRecords(seqs: Uint32Array): Transform {
  let at = 0;
  let next = 0;
  return new Transform({
    objectMode: true,
    highWaterMark: 16,
    transform(record: unknown, _enc: BufferEncoding, cb: TransformCallback) {
      const seq = at++;
      if (next < seqs.length && seqs[next] === seq) {
        next++;
        cb(null, record);
      } else cb();
    },
  });
}

export interface MergeTally {
  /** Resent records that now have an answer. */
  answered: number;
  /** Resent records whose new line is an error again. */
  failing: number;
  /** Resent records the budget did not let go: their old line stays. */
  notSent: number;
  /** Answers in the whole rewritten OUT. */
  okLines: number;
}

const BUDGET_EXCEEDED = 'BUDGET_EXCEEDED';

/**
 * The transform from the resend's result lines to the rewritten OUT: OUT's
 * own lines, each resent one replaced by its new line (under OUT's key).
 */
export function mergeIntoOut(outPath: string, seqs: Uint32Array, tally: MergeTally) {
  const mismatch = (why: string) => new GeminiBatchError('ERR_STATE_MISMATCH', `cannot put the resent results back into ${outPath}: ${why}`);
  return async function* merge(results: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    const old = outLines(outPath);
    let at = 0;
    let i = 0;
    const count = (line: Buffer) => {
      if (!lineError(line)) tally.okLines++;
      return line;
    };
    try {
      for await (const fresh of splitLines(results)) {
        if (i >= seqs.length) throw mismatch(`the resend gave more than its ${seqs.length} results`);
        const seq = seqs[i++]!;
        for (; at < seq; at++) {
          const r = await old.next();
          if (r.done) throw mismatch(`it ended before line ${seq + 1}`);
          yield count(r.value);
        }
        const r = await old.next();
        if (r.done) throw mismatch(`it ended before line ${seq + 1}`);
        at++;
        const err = lineError(fresh);
        if (err?.status === BUDGET_EXCEEDED) {
          tally.notSent++;
          yield count(r.value);
          continue;
        }
        if (err) tally.failing++;
        else tally.answered++;
        yield count(withKeyOf(fresh, r.value));
      }
      if (i !== seqs.length) throw mismatch(`the resend gave ${i} of its ${seqs.length} results (INPUT has fewer records than OUT has lines?)`);
      for (let r = await old.next(); !r.done; r = await old.next()) yield count(r.value);
    } finally {
      await old.return(undefined);
    }
  };
}
