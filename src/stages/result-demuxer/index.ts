/**
 * Stage 5: FinishedJob → KeyedResult. One result per input record, in input
 * order (or job by job with ordered: false), read back from the results files
 * on disk through an offset index, pushed only as fast as the reader pulls.
 */
import { Duplex, type DuplexOptions } from 'node:stream';
import { wrapFsError } from '../../errors.js';
import { rm } from 'node:fs/promises';
import { demuxerOptionsSchema, type ResultDemuxerOptions } from '../../options/demuxer.js';
import { parseOptions } from '../../options/parse.js';
import type { RunContext } from '../../run/context.js';
import type { FinishedJob, ResultError } from '../../types.js';
import { JobResults, type DemuxOutput } from './job-results.js';
import type { TokenUsage } from '../../internal/wire/usage.js';

export type { ResultDemuxerOptions } from '../../options/demuxer.js';

/** What the demuxer uses of the run: all optional (the journal records what was emitted, the job window is freed here). */
export type DemuxerContext = Partial<Pick<RunContext, 'journal' | 'events' | 'jobWindow'>>;

/**
 * A Duplex that reports every read() by its consumer: the job window frees
 * a slot when a job's last result leaves the buffer, and Node calls _read
 * only when it wants a push, not when the buffer drains.
 */
class TakingDuplex extends Duplex {
  constructor(
    private readonly onTaken: () => void,
    opts: DuplexOptions,
  ) {
    super(opts);
  }

  override read(size?: number): unknown {
    const r: unknown = super.read(size);
    this.onTaken();
    return r;
  }
}

/** Results handed out per step: big enough to amortise, small enough to stay responsive. */
const BATCH = 512;
/** Result bytes read back per step. */
const BATCH_BYTES = 1 << 20;
/**
 * Result bytes pushed and not yet taken downstream. The readable side's
 * high-water mark counts objects (64), which is 64 MB of image answers; this
 * keeps large answers to a few at a time while small ones still flow 64 deep.
 */
const MAX_QUEUED_BYTES = 4 << 20;

export function resultDemuxer(ctx: DemuxerContext = {}, options: ResultDemuxerOptions = {}): Duplex {
  const opts = parseOptions(demuxerOptionsSchema, options, 'resultDemuxer');
  const ordered = opts.ordered;
  const window = ctx.jobWindow;
  const journal = ctx.journal;
  const progress = ctx.events?.progress;
  const onResult = progress ? (error: ResultError | undefined) => progress.onResult(error) : undefined;
  const onTokens = progress ? (u: TokenUsage) => progress.onUsage(u) : undefined;
  const waiting = new Map<number, FinishedJob>();
  const arrivals: FinishedJob[] = [];
  let nextIndex = opts.firstIndex;
  let current: JobResults | undefined;
  let currentJob: FinishedJob | undefined;
  let wantMore = false;
  let inputEnded = false;
  let pumping = false;
  let ended = false;
  // The job window frees a job's slot once its last result is taken from our
  // buffer, not when it is pushed into it: a stalled reader must hold the window.
  let pushed = 0;
  let taken = 0;
  const releaseAt: number[] = [];
  // Sizes of the results pushed and not yet taken (FIFO), and their sum.
  const queuedSizes: number[] = [];
  let queuedBytes = 0;
  const releaseTaken = () => {
    const nowTaken = pushed - stream.readableLength;
    for (; taken < nowTaken; taken++) queuedBytes -= queuedSizes.shift() ?? 0;
    while (releaseAt.length > 0 && releaseAt[0]! <= taken) {
      releaseAt.shift();
      window?.release();
    }
  };

  const take = (): FinishedJob | undefined => {
    if (!ordered) return arrivals.shift();
    const job = waiting.get(nextIndex);
    if (job) {
      waiting.delete(nextIndex);
      nextIndex++;
    }
    return job;
  };

  const finishJob = async (job: FinishedJob) => {
    current?.close();
    current = undefined;
    currentJob = undefined;
    releaseAt.push(pushed);
    releaseTaken();
    await journal?.emitted(job.chunk.firstSeq + job.chunk.count);
    if (opts.removeFiles) {
      await Promise.all([
        rm(job.chunk.spoolPath, { force: true }),
        job.resultsPath && !journal ? rm(job.resultsPath, { force: true }) : undefined,
      ]);
    }
  };

  const pump = async () => {
    if (pumping) return;
    pumping = true;
    try {
      while (wantMore && queuedBytes < MAX_QUEUED_BYTES) {
        if (!current) {
          const job = take();
          if (!job) {
            if (inputEnded && !ended && waiting.size === 0 && arrivals.length === 0) {
              ended = true;
              stream.push(null);
            }
            return;
          }
          currentJob = job;
          const results = new JobResults(job, {
            task: opts.task,
            output: opts.output,
            skipBelow: opts.skipResults,
            onTokens,
            onResult,
          });
          current = results;
          await results.index();
          if (stream.destroyed) {
            // Destroyed while indexing: nothing will read these results.
            results.close();
            return;
          }
        }
        const sizes: number[] = [];
        const batch: DemuxOutput[] = current.next(BATCH, BATCH_BYTES, sizes);
        for (let k = 0; k < batch.length; k++) {
          pushed++;
          queuedSizes.push(sizes[k]!);
          queuedBytes += sizes[k]!;
          if (!stream.push(batch[k])) wantMore = false;
        }
        if (current.done) await finishJob(currentJob!);
      }
    } catch (err) {
      stream.destroy(wrapFsError(err, `emitting the results of chunk ${currentJob?.chunk.index ?? '?'}`) as Error);
    } finally {
      pumping = false;
    }
  };

  // A take may bring the queued bytes back under their cap while the buffer is
  // still above its low-water mark (no _read call follows): resume from here.
  const onTaken = () => {
    releaseTaken();
    if (wantMore && queuedBytes < MAX_QUEUED_BYTES) void pump();
  };
  const stream: Duplex = new TakingDuplex(onTaken, {
    writableObjectMode: true,
    readableObjectMode: true,
    writableHighWaterMark: 1,
    readableHighWaterMark: 64,
    write(job: FinishedJob, _enc, cb) {
      if (ordered) waiting.set(job.chunk.index, job);
      else arrivals.push(job);
      cb();
      void pump();
    },
    final(cb) {
      inputEnded = true;
      cb();
      void pump();
    },
    read() {
      releaseTaken();
      wantMore = true;
      void pump();
    },
    destroy(err, cb) {
      current?.close();
      current = undefined;
      cb(err);
    },
  });
  return stream;
}
