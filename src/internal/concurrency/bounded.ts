/**
 * The one bounded-concurrency helper of the flow (uploads, creates/polls,
 * downloads and the job window all use it).
 *
 * `Slots` counts admitted items: an item holds its slot while it runs AND
 * while its finished result waits to be taken downstream, so a slow head
 * cannot let finished work pile up behind it (the cause of issue 9: 98
 * uploads started behind one slow upload). `boundedMap()` is its stream
 * adapter, in the manner of Node's `Readable.map({concurrency})`: it takes
 * an input only when a slot is free, pushes results only while `push()`
 * says the reader wants more, and frees a slot when its result is pushed
 * (or, for the job window, when the consumer says it is done with it).
 */
import { Duplex } from 'node:stream';
import { GeminiBatchError, abortError } from '../../errors.js';

/** A counter of admitted items, at most `limit` at once, waiters served in FIFO order. */
export class Slots {
  readonly limit: number;
  private used = 0;
  private readonly waiters: Array<() => void> = [];

  /** `what` names the option in the error when `limit` is not an integer >= 1. */
  constructor(limit: number, what = 'concurrency') {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new GeminiBatchError('ERR_INVALID_OPTIONS', `${what} must be an integer >= 1 (got ${String(limit)})`);
    }
    this.limit = limit;
  }

  /** Items admitted and not yet released. */
  get inUse(): number {
    return this.used;
  }

  /** Wait for a free slot and take it. Rejects with ERR_ABORTED when the signal fires first. */
  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortError(signal));
    if (this.used < this.limit && this.waiters.length === 0) {
      this.used++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const i = this.waiters.indexOf(grant);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(abortError(signal));
      };
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        this.used++;
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(grant);
    });
  }

  /** Free one slot (the next waiter, if any, takes it). */
  release(): void {
    if (this.used === 0) throw new GeminiBatchError('ERR_INTERNAL', 'Slots.release() without a matching acquire()');
    this.used--;
    this.waiters.shift()?.();
  }

  /** Run `task` in a slot of its own, freed when it settles (downloads: nothing waits downstream). */
  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(signal);
    try {
      return await task();
    } finally {
      this.release();
    }
  }
}

export interface BoundedMapOptions<I, O> {
  /** At most this many items admitted (a number, or Slots shared with a consumer that releases them). */
  slots: Slots | number;
  /** Push results in input order (default), or as they finish. */
  ordered?: boolean;
  task: (item: I) => Promise<O>;
  /**
   * When an admitted item's slot frees: 'pushed' (default) once its result is
   * pushed downstream; 'consumer' never here: the consumer releases the
   * shared Slots once it is done with the result (the job window, released
   * by the demuxer once a job's results are all out).
   */
  releaseOn?: 'pushed' | 'consumer';
  /** Called on destroy, e.g. to abort tasks in flight. */
  onDestroy?: (err: Error | null) => Promise<void> | void;
}

interface Entry<O> {
  done: boolean;
  value?: O;
}

/** I (object mode) → O (object mode) with at most `slots` items admitted. */
export function boundedMap<I, O>(opts: BoundedMapOptions<I, O>): Duplex {
  const slots = typeof opts.slots === 'number' ? new Slots(opts.slots) : opts.slots;
  const ordered = opts.ordered ?? true;
  const releaseOnPush = (opts.releaseOn ?? 'pushed') === 'pushed';
  // Admitted entries: in admission order (ordered), or finished ones in finish order.
  const queue: Entry<O>[] = [];
  const stop = new AbortController();
  let running = 0;
  let wanted = false;
  let inputEnded = false;
  let ended = false;

  const drain = () => {
    while (wanted && queue.length > 0 && queue[0]!.done) {
      const entry = queue.shift()!;
      if (releaseOnPush) slots.release();
      wanted = stream.push(entry.value);
    }
    if (inputEnded && !ended && running === 0 && queue.length === 0) {
      ended = true;
      stream.push(null);
    }
  };

  const start = (item: I) => {
    const entry: Entry<O> = { done: false };
    running++;
    if (ordered) queue.push(entry);
    opts.task(item).then(
      (value) => {
        if (stream.destroyed) return;
        running--;
        entry.done = true;
        entry.value = value;
        if (!ordered) queue.push(entry);
        drain();
      },
      (err: Error) => stream.destroy(err),
    );
  };

  const stream: Duplex = new Duplex({
    writableObjectMode: true,
    readableObjectMode: true,
    writableHighWaterMark: 1,
    readableHighWaterMark: 1,
    write(item: I, _enc, cb) {
      // The write callback is the admission: until a slot is free, nothing more comes in.
      slots.acquire(stop.signal).then(
        () => {
          if (stream.destroyed) {
            slots.release();
            return;
          }
          start(item);
          cb();
        },
        () => undefined, // destroyed while waiting: the stream's own error stands
      );
    },
    final(cb) {
      inputEnded = true;
      drain();
      cb();
    },
    read() {
      wanted = true;
      drain();
    },
    destroy(err, cb) {
      stop.abort(err ?? undefined);
      Promise.resolve(opts.onDestroy?.(err)).then(
        () => cb(err),
        () => cb(err),
      );
    },
  });
  return stream;
}
