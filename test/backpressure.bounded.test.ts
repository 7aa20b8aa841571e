/** The bounded helper alone: a slot is held from admission until the result is taken downstream. */
import { describe, expect, it } from 'vitest';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Slots, boundedMap } from '../src/internal/concurrency/bounded.js';
import { GeminiBatchError } from '../src/errors.js';

const tick = () => new Promise((r) => setTimeout(r, 20));

describe('Slots', () => {
  it.each([[0], [-1], [1.5], [Number.NaN]])('refuses a limit of %s', (n) => {
    expect(() => new Slots(n, 'uploadConcurrency')).toThrow(GeminiBatchError);
    expect(() => new Slots(n, 'uploadConcurrency')).toThrow(/uploadConcurrency must be an integer >= 1/);
  });

  it('serves waiters in order and rejects an aborted one', async () => {
    const s = new Slots(1);
    await s.acquire();
    const order: number[] = [];
    const ac = new AbortController();
    const a = s.acquire().then(() => order.push(1));
    const b = s.acquire(ac.signal).catch((e: GeminiBatchError) => order.push(e.code === 'ERR_ABORTED' ? -2 : 2));
    const c = s.acquire().then(() => order.push(3));
    ac.abort();
    s.release();
    await a;
    s.release();
    await Promise.all([b, c]);
    expect(order).toEqual([-2, 1, 3]);
    expect(s.inUse).toBe(1);
  });
});

describe('boundedMap', () => {
  it('behind a slow head, starts exactly N tasks: finished ones keep their slots', async () => {
    const started: number[] = [];
    const gates = new Map<number, () => void>();
    const stage = boundedMap<number, number>({
      slots: 3,
      task: (i) => {
        started.push(i);
        return i === 0 ? new Promise((r) => gates.set(0, () => r(0))) : Promise.resolve(i);
      },
    });
    const out: number[] = [];
    const done = pipeline(
      Readable.from(Array.from({ length: 20 }, (_, i) => i)),
      stage,
      new Writable({
        objectMode: true,
        write(v: number, _e, cb) {
          out.push(v);
          cb();
        },
      }),
    );
    for (let i = 0; i < 5; i++) await tick();
    expect(started).toEqual([0, 1, 2]);
    gates.get(0)!();
    await done;
    expect(out).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('honours push(): a reader that stops holds every slot', async () => {
    let started = 0;
    const stage = boundedMap<number, number>({ slots: 2, task: async (i) => (started++, i) });
    const src = Readable.from(Array.from({ length: 100 }, (_, i) => i));
    src.pipe(stage); // nobody reads the stage
    for (let i = 0; i < 5; i++) await tick();
    // Nothing is pushed before a read() asks: the 2 finished results hold both slots.
    expect(started).toBe(2);
    stage.destroy();
    src.destroy();
  });

  it('frees a consumer-released slot only on release()', async () => {
    const slots = new Slots(2);
    let started = 0;
    const stage = boundedMap<number, number>({ slots, releaseOn: 'consumer', task: async (i) => (started++, i) });
    const got: number[] = [];
    stage.on('data', (v: number) => got.push(v));
    Readable.from(Array.from({ length: 10 }, (_, i) => i)).pipe(stage);
    for (let i = 0; i < 5; i++) await tick();
    expect(started).toBe(2);
    expect(got).toEqual([0, 1]);
    slots.release();
    for (let i = 0; i < 5; i++) await tick();
    expect(started).toBe(3);
    stage.destroy();
  });
});
