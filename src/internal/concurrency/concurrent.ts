/**
 * A Transform that runs up to `concurrency` async tasks at once and takes no
 * more input while all slots are busy (so backpressure reaches the source).
 * Results are pushed in input order, or as they finish with ordered: false.
 */
import { Transform, type TransformCallback } from 'node:stream';

export interface ConcurrentOptions<I, O> {
  concurrency: number;
  ordered?: boolean;
  task: (item: I) => Promise<O>;
  /** Called on destroy, e.g. to abort tasks in flight. */
  onDestroy?: (err: Error | null) => Promise<void> | void;
}

export function concurrentTransform<I, O>(opts: ConcurrentOptions<I, O>): Transform {
  const ordered = opts.ordered ?? true;
  // In-order mode: results wait in this queue until everything before them is out.
  const queue: Array<{ done: boolean; value?: O }> = [];
  let running = 0;
  let heldCallback: TransformCallback | undefined;
  let flushCallback: TransformCallback | undefined;
  let failed = false;

  const stream: Transform = new Transform({
    writableObjectMode: true,
    readableObjectMode: true,
    writableHighWaterMark: 1,
    readableHighWaterMark: 1,
    transform(item: I, _enc, cb) {
      running++;
      const slot: { done: boolean; value?: O } = { done: false };
      if (ordered) queue.push(slot);
      opts.task(item).then(
        (value) => {
          if (failed || stream.destroyed) return;
          running--;
          slot.done = true;
          slot.value = value;
          if (ordered) {
            while (queue.length && queue[0]!.done) stream.push(queue.shift()!.value);
          } else {
            stream.push(value);
          }
          release();
        },
        (err: Error) => {
          failed = true;
          stream.destroy(err);
        },
      );
      if (running < opts.concurrency) cb();
      else heldCallback = cb;
    },
    flush(cb) {
      flushCallback = cb;
      release();
    },
    destroy(err, cb) {
      failed = true;
      Promise.resolve(opts.onDestroy?.(err)).then(
        () => cb(err),
        () => cb(err),
      );
    },
  });

  function release() {
    if (heldCallback && running < opts.concurrency) {
      const cb = heldCallback;
      heldCallback = undefined;
      cb();
    }
    if (flushCallback && running === 0 && queue.length === 0) {
      const cb = flushCallback;
      flushCallback = undefined;
      cb();
    }
  }
  return stream;
}
