/**
 * The emulator's MD5 thread: each stream's digest is node:crypto's MD5 of
 * exactly its bytes, with streams interleaved, views into larger buffers
 * (only the view's bytes count), empty chunks, and discarded streams; and a
 * writer that awaits caughtUp() is held while too many bytes wait unhashed,
 * chunks cut at the shared ring's end and larger than the ring included.
 */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Checksums } from '../src/emulator/gcs/checksums.js';
import { md5Thread } from '../src/emulator/gcs/md5-thread.js';

describe('MD5 thread', () => {
  it('digests interleaved streams of views exactly as node:crypto does', async () => {
    const n = 5;
    const streams = Array.from({ length: n }, () => ({ s: md5Thread().open(), h: createHash('md5') }));
    const dropped = md5Thread().open();
    for (let round = 0; round < 40; round++) {
      for (const x of streams) {
        const whole = randomBytes(1 + ((round * 977) % 70_000));
        const view = whole.subarray(round % 3, whole.length - (round % 5));
        x.s.update(view);
        x.h.update(view);
        x.s.update(Buffer.alloc(0));
      }
      dropped.update(randomBytes(100));
    }
    dropped.discard();
    const got = await Promise.all(streams.map((x) => x.s.digest()));
    expect(got).toEqual(streams.map((x) => x.h.digest('base64')));
  });

  it('gives the empty input its MD5 and CRC32C', async () => {
    expect(await new Checksums().digest()).toEqual({ md5Hash: '1B2M2Y8AsgTpgAmY7PhCfg==', crc32c: 'AAAAAA==' });
  });

  it('holds a writer that runs ahead, and lets it go once the thread catches up', async () => {
    const s = md5Thread().open();
    const h = createHash('md5');
    const piece = randomBytes(3 << 20);
    const huge = randomBytes(20 << 20);
    let held = 0;
    for (let i = 0; i < 24; i++) {
      // Pieces cut at the ring's end, and one larger than the whole ring (its rest goes as a copy of its own).
      const chunk = i === 5 ? huge : piece;
      s.update(chunk);
      h.update(chunk);
      const wait = s.caughtUp();
      let settled = false;
      void wait.then(() => (settled = true));
      await Promise.resolve();
      if (!settled) held++;
      await wait;
    }
    // 89 MiB in pieces of 3 MiB or more, against a ring of 8: the writer had to wait.
    expect(held).toBeGreaterThan(0);
    expect(await s.digest()).toBe(h.digest('base64'));
  });
});
