/**
 * One object that does not fit a job as it is (too big, too many lines, or
 * lines the service would not take as they are): its lines are streamed from
 * Cloud Storage through the library on the Vertex backend, which cuts,
 * uploads and submits them as for a local INPUT (bytes pass through this
 * machine for these objects only). The object has its own state dir, so the
 * library's journal and resume apply: a rerun feeds the lines again from the
 * start and the results already in the object's results file are skipped.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Gcs, GcsObject } from '../../backends/vertex/gcs.js';
import { geminiBatch } from '../../gemini-batch.js';
import { forEachLineAsync } from '../../internal/io/lines.js';
import { makeDirs } from '../../internal/io/make-dirs.js';
import { isSuccessLine } from '../../internal/wire/result-line.js';
import type { GeminiBatchOptions } from '../../options.js';
import type { JobEvent } from '../../types.js';
import { asFlagError } from '../flag-names.js';
import { ON_INVALID_HINT } from '../input.js';
import { readJsonl } from '../jsonl-reader.js';
import { countCompleteLines, openOutput } from '../output.js';
import { objectReadable } from './object-stream.js';
import type { GcsJournal } from './run-journal.js';

export interface SplitContext {
  gcs: Gcs;
  journal: GcsJournal;
  signal: AbortSignal;
  /** The library options the run's flags stand for (the CLI's own mapping). */
  options: GeminiBatchOptions<Record<string, unknown>>;
  onJob(e: JobEvent): void;
}

export async function runSplit(ctx: SplitContext, i: number, obj: GcsObject, dir: string): Promise<{ lines: number; errors: number }> {
  const uri = `gs://${obj.bucket}/${obj.name}`;
  const resultsPath = join(dir, 'results.jsonl');
  const stateDir = join(dir, 'lib');
  makeDirs(stateDir);
  const resume = existsSync(resultsPath) ? countCompleteLines(resultsPath) : undefined;
  let gb;
  try {
    gb = geminiBatch<Record<string, unknown>>(
      { ...ctx.options, signal: ctx.signal, stateDir, skipResults: resume?.lines ?? 0, completeOnEnd: false },
      { lineNumbers: true },
    );
  } catch (err) {
    throw asFlagError(err);
  }
  gb.on('job', (e: JobEvent) => ctx.onJob(e));
  const output = openOutput(resultsPath, resume);
  let lines = resume?.lines ?? 0;
  let errors = 0;
  if (resume?.lines) {
    let seen = 0;
    await forEachLineAsync(resultsPath, (l) => {
      if (seen++ < resume.lines && !isSuccessLine(l)) errors++;
    });
  }
  const count = new Transform({
    transform(line: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      lines++;
      if (!isSuccessLine(line)) errors++;
      cb(null, line);
    },
  });
  try {
    await pipeline(readJsonl(objectReadable(ctx.gcs, obj, ctx.signal), { name: uri, invalidHint: ON_INVALID_HINT }), gb, count, output.stream);
    await output.finish();
  } catch (err) {
    await output.finish().catch(() => undefined);
    throw err;
  }
  ctx.journal.append({ t: 'done', i, lines, errors });
  // Only now may the library drop what a resume of this object would need.
  await gb.complete();
  return { lines, errors };
}
