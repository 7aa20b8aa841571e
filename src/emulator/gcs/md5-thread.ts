/**
 * MD5 of object bodies on one worker thread shared by the process, so the
 * emulator's own thread (answering rows, serving requests) does not spend a
 * tenth of a Vertex job hashing. The worker is code in a string (no file to
 * find from a bundle, a test runner or dist/) and holds one hash per open
 * stream; it is unref'd whenever nothing waits on it.
 *
 * Bytes go through a ring in shared memory: a copy into it is a memcpy, and
 * nothing is allocated per chunk (a transferred copy per chunk cost as much
 * as the hashing it moved, and left the worker a heap of dead buffers that
 * its idle collector freed late). A chunk that finds the ring full goes as
 * its own transferred copy.
 *
 * Bounded: a stream's writer awaits caughtUp(), which holds it while more
 * than half a ring of bytes waits to be hashed. No hang: a worker that dies
 * fails every digest waiting on it, and the next stream starts a new one.
 */
import { Worker } from 'node:worker_threads';

const RING_BYTES = 8 << 20;
/** Bytes announced to the worker per message, at most (a ring's wrap or another stream cuts a message short). */
const MESSAGE_BYTES = 1 << 20;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const ring = new Uint8Array(workerData.ring);
const open = new Map();
parentPort.on('message', (m) => {
  let h = open.get(m.id);
  if (m.n !== undefined || m.chunk) {
    if (!h) open.set(m.id, (h = createHash('md5')));
    if (m.chunk) {
      h.update(m.chunk);
      parentPort.postMessage({ hashed: m.chunk.length, ring: false });
    } else {
      h.update(ring.subarray(m.at, m.at + m.n));
      parentPort.postMessage({ hashed: m.n, ring: true });
    }
    return;
  }
  open.delete(m.id);
  if (m.end === 'digest') parentPort.postMessage({ id: m.id, md5: (h || createHash('md5')).digest('base64') });
});
`;

type Reply = { hashed: number; ring: boolean } | { id: number; md5: string };

export interface Md5Stream {
  update(chunk: Uint8Array): void;
  caughtUp(): Promise<void>;
  /** The base64 digest; rejects when the thread died. */
  digest(): Promise<string>;
  discard(): void;
}

class Md5Thread {
  private readonly worker: Worker;
  private readonly ring: Buffer;
  /** Where the next byte goes in the ring, and how many bytes there wait to be hashed. */
  private head = 0;
  private inRing = 0;
  /** Ring bytes of one stream, contiguous, copied but not announced to the worker yet. */
  private pendingId = 0;
  private pendingAt = 0;
  private pendingN = 0;
  /** Bytes sent as their own copies and not hashed yet. */
  private outside = 0;
  private nextId = 1;
  private waiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private readonly digests = new Map<number, { resolve: (md5: string) => void; reject: (e: Error) => void }>();
  dead: Error | undefined;

  constructor() {
    const shared = new SharedArrayBuffer(RING_BYTES);
    this.ring = Buffer.from(shared);
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ring: shared } });
    this.worker.unref();
    this.worker.on('message', (r: Reply) => this.onReply(r));
    this.worker.on('error', (e) => this.die(e));
    this.worker.on('exit', (code) => this.die(new Error(`the emulator's MD5 thread exited (code ${code})`)));
  }

  open(): Md5Stream {
    const id = this.nextId++;
    return {
      update: (chunk) => this.post(id, chunk),
      caughtUp: () => this.caughtUp(),
      digest: () => this.digest(id),
      discard: () => {
        this.flush();
        this.worker.postMessage({ id, end: 'discard' });
      },
    };
  }

  /** The bytes are copied now: the caller may reuse its buffer as soon as this returns. */
  private post(id: number, chunk: Uint8Array): void {
    if (this.dead) return;
    const from = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let at = 0;
    // The hash streams, so a chunk may be cut anywhere: at the ring's end, or where the free space ends.
    while (at < from.length && this.inRing < RING_BYTES) {
      const n = Math.min(from.length - at, RING_BYTES - this.inRing, RING_BYTES - this.head);
      // Buffer#copy is a memmove; TypedArray#set into shared memory copied a few bytes at a time (2 GB/s).
      from.copy(this.ring, this.head, at, at + n);
      this.queue(id, this.head, n);
      this.head = (this.head + n) % RING_BYTES;
      this.inRing += n;
      at += n;
    }
    if (at === from.length) return;
    this.flush();
    const rest = Buffer.allocUnsafeSlow(from.length - at);
    from.copy(rest, 0, at);
    this.outside += rest.length;
    this.worker.postMessage({ id, chunk: rest }, [rest.buffer]);
  }

  /**
   * Bytes next to the ones not yet announced (same stream, contiguous in the
   * ring) join them: one message per MESSAGE_BYTES instead of one per chunk
   * (a message and its answer cost tens of microseconds; an upload arrives in
   * 64 KiB chunks).
   */
  private queue(id: number, at: number, n: number): void {
    if (this.pendingN > 0 && (this.pendingId !== id || this.pendingAt + this.pendingN !== at)) this.flush();
    if (this.pendingN === 0) {
      this.pendingId = id;
      this.pendingAt = at;
    }
    this.pendingN += n;
    if (this.pendingN >= MESSAGE_BYTES) this.flush();
  }

  /** What is in the ring and not announced yet, to the worker. */
  private flush(): void {
    if (this.pendingN === 0) return;
    this.worker.postMessage({ id: this.pendingId, at: this.pendingAt, n: this.pendingN });
    this.pendingN = 0;
  }

  private caughtUp(): Promise<void> {
    if (this.dead) return Promise.reject(this.dead);
    if (this.inRing + this.outside <= RING_BYTES / 2) return Promise.resolve();
    // Bytes the worker has not been told of are not hashed by waiting.
    this.flush();
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.holdAlive();
    });
  }

  private digest(id: number): Promise<string> {
    if (this.dead) return Promise.reject(this.dead);
    this.flush();
    return new Promise((resolve, reject) => {
      this.digests.set(id, { resolve, reject });
      this.holdAlive();
      this.worker.postMessage({ id, end: 'digest' });
    });
  }

  private onReply(r: Reply): void {
    if ('hashed' in r) {
      // Replies come in the order the bytes were sent: the ring frees from its oldest byte.
      if (r.ring) this.inRing -= r.hashed;
      else this.outside -= r.hashed;
      if (this.inRing + this.outside <= RING_BYTES / 2 && this.waiters.length > 0) {
        const ready = this.waiters;
        this.waiters = [];
        for (const w of ready) w.resolve();
      }
    } else {
      this.digests.get(r.id)?.resolve(r.md5);
      this.digests.delete(r.id);
    }
    this.holdAlive();
  }

  /** Ref'd exactly while someone awaits the thread. */
  private holdAlive(): void {
    if (this.digests.size > 0 || this.waiters.length > 0) this.worker.ref();
    else this.worker.unref();
  }

  private die(e: Error): void {
    if (this.dead) return;
    this.dead = e;
    for (const w of this.waiters) w.reject(e);
    for (const d of this.digests.values()) d.reject(e);
    this.waiters = [];
    this.digests.clear();
    if (shared === this) shared = undefined;
  }
}

let shared: Md5Thread | undefined;

/** The process's MD5 thread, started on first use (again after one died). */
export function md5Thread(): Pick<Md5Thread, 'open'> {
  return (shared ??= new Md5Thread());
}
