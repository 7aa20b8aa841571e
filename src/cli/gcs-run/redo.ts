/**
 * The lines an as-is job did not answer because it ended otherwise than
 * SUCCEEDED (EXPIRED after 72 h in the queue, the 24 h processing cut-off,
 * FAILED, CANCELLED): the rows it finished are kept, and only these lines
 * are sent again, streamed from the object through the library (so these
 * bytes, and only these, go through this machine), with a state dir of
 * their own: a rerun resumes them, nothing is paid twice. Their results
 * come back in line order into `redo.jsonl`, which writeOrdered reads from
 * for the lines no row answered.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { GcsObject } from '../../backends/vertex/gcs.js';
import { geminiBatch } from '../../gemini-batch.js';
import { makeDirs } from '../../internal/io/make-dirs.js';
import { asFlagError } from '../flag-names.js';
import { ON_INVALID_HINT } from '../input.js';
import { readJsonl } from '../jsonl-reader.js';
import { countCompleteLines, openOutput } from '../output.js';
import { objectReadable } from './object-stream.js';
import type { SplitContext } from './split.js';

export const REDO_FILE = 'redo.jsonl';

/** Send the lines of `obj` whose `mask` byte is set; resolves with the results file and the call that completes the library's journal. */
export async function redoLines(ctx: SplitContext, obj: GcsObject, dir: string, mask: Uint8Array): Promise<{ path: string; complete: () => Promise<void> }> {
  const path = join(dir, REDO_FILE);
  const stateDir = join(dir, 'redo-lib');
  makeDirs(stateDir);
  const resume = existsSync(path) ? countCompleteLines(path) : undefined;
  let gb;
  try {
    gb = geminiBatch<Record<string, unknown>>({ ...ctx.options, signal: ctx.signal, stateDir, skipResults: resume?.lines ?? 0, completeOnEnd: false }, { lineNumbers: true });
  } catch (err) {
    throw asFlagError(err);
  }
  gb.on('job', ctx.onJob);
  let n = 0;
  const only = new Transform({
    objectMode: true,
    transform(record: unknown, _enc: BufferEncoding, cb: TransformCallback) {
      cb(null, mask[n++] ? record : undefined);
    },
  });
  const output = openOutput(path, resume);
  try {
    await pipeline(readJsonl(objectReadable(ctx.gcs, obj, ctx.signal), { name: `gs://${obj.bucket}/${obj.name}`, invalidHint: ON_INVALID_HINT }), only, gb, output.stream);
    await output.finish();
  } catch (err) {
    await output.finish().catch(() => undefined);
    throw err;
  }
  const lib = gb;
  return { path, complete: () => lib.complete() };
}
