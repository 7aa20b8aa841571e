/**
 * Backpressure end to end (invariant 5, issue 9), with exact counts: while one
 * stage is held still, how many uploads start and how many records are read.
 *
 * A small loopback proxy in front of the real emulator holds one kind of
 * request (the first upload, the first job's polls, every download) until
 * the test lets it go; a stalled consumer is a sink that never calls back.
 * With uploadConcurrency U = 2 and maxJobsInFlight J = 2 the bound is
 * U + J + 2 = 6 uploads started; each test pins the exact number the design
 * gives, so a slot that frees too early (or a buffer that grows) fails it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable, type Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { once } from 'node:events';
import { startEmulator, type RunningEmulator } from '../src/emulator/index.js';
import { geminiBatch } from '../src/index.js';
import type { KeyedResult } from '../src/types.js';
import { countingSource } from './helpers/records.js';

const U = 2;
const J = 2;
// More requests per chunk than the 16 results geminiBatch's own output
// buffer holds, so that buffer cannot free a job's slot of the window.
const PER_CHUNK = 20;

let emu: RunningEmulator;
let tmp: string;

beforeAll(async () => {
  emu = await startEmulator({ port: 0, pendingMs: 5, runningMs: 10 });
  tmp = mkdtempSync(join(tmpdir(), 'gb-bp-'));
});
afterAll(async () => {
  await emu.close();
  rmSync(tmp, { recursive: true, force: true });
});

interface Seen {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/**
 * Forwards everything to the emulator; requests `hold` picks wait until
 * release(). Counts upload sessions started (held ones included): the
 * number of uploads the pipeline began.
 */
class HoldingProxy {
  uploadsStarted = 0;
  held = 0;
  /** Batch names created for displayName bp-0 (the first job). */
  readonly firstJob = new Set<string>();
  private releasers: Array<() => void> = [];
  private released = false;
  private server!: Server;
  url = '';

  constructor(private readonly hold: (req: Seen, proxy: HoldingProxy) => boolean) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  release(): void {
    this.released = true;
    for (const r of this.releasers.splice(0)) r();
  }

  async close(): Promise<void> {
    this.release();
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parts: Buffer[] = [];
    for await (const p of req) parts.push(p as Buffer);
    const seen: Seen = { method: req.method!, path: req.url!, headers: req.headers, body: Buffer.concat(parts) };
    if (req.headers['x-goog-upload-command'] === 'start') this.uploadsStarted++;
    if (!this.released && this.hold(seen, this)) {
      this.held++;
      await new Promise<void>((r) => this.releasers.push(r));
    }
    const up = httpRequest(`${emu.url}${seen.path}`, { method: seen.method, headers: { ...seen.headers, host: new URL(emu.url).host } });
    up.on('error', () => res.destroy());
    up.end(seen.body);
    const answer = await new Promise<IncomingMessage>((r) => up.once('response', r));
    const body: Buffer[] = [];
    for await (const p of answer) body.push(p as Buffer);
    const text = Buffer.concat(body);
    if (seen.path.includes(':batchGenerateContent') && seen.body.includes('"bp-0"')) {
      const name = (JSON.parse(text.toString()) as { name?: string }).name;
      if (name) this.firstJob.add(name);
    }
    const headers = { ...answer.headers };
    // Upload sessions come back through the proxy too.
    const session = headers['x-goog-upload-url'];
    if (typeof session === 'string') headers['x-goog-upload-url'] = session.replace(emu.url, this.url);
    delete headers['transfer-encoding'];
    headers['content-length'] = String(text.length);
    res.writeHead(answer.statusCode!, headers);
    res.end(text);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the flow has stopped: nothing read and no upload started for a while. */
async function settle(proxy: HoldingProxy, read: () => number): Promise<void> {
  let last = '';
  for (let stable = 0; stable < 8; ) {
    await sleep(100);
    const now = `${proxy.uploadsStarted}/${read()}`;
    stable = now === last ? stable + 1 : 0;
    last = now;
  }
}

const live = new Set<Duplex>();

function flow(proxy: HoldingProxy, total: number, sink?: Writable, stateDir?: string) {
  const src = countingSource(total);
  const results: KeyedResult[] = [];
  const stage = geminiBatch({
    model: 'gemini-2.5-flash',
    apiKey: 'k',
    baseUrl: proxy.url,
    runId: 'bp',
    mode: 'file',
    maxRequestsPerBatch: PER_CHUNK,
    uploadConcurrency: U,
    maxJobsInFlight: J,
    pollInterval: { initialMs: 10, maxMs: 20 },
    tmpDir: tmp,
    ...(stateDir ? { stateDir } : {}),
  });
  const out =
    sink ??
    new Writable({
      objectMode: true,
      write(r: KeyedResult, _e, cb) {
        results.push(r);
        cb();
      },
    });
  const done = pipeline(src.stream, stage, out);
  done.catch(() => undefined);
  live.add(stage);
  return { src, stage, done, results };
}

async function withProxy(hold: (req: Seen, proxy: HoldingProxy) => boolean, test: (proxy: HoldingProxy) => Promise<void>) {
  const proxy = new HoldingProxy(hold);
  await proxy.start();
  try {
    await test(proxy);
  } finally {
    for (const s of live) {
      s.destroy();
      if (!s.closed) await once(s, 'close');
    }
    live.clear();
    await proxy.close();
  }
}

async function waitFor(cond: () => boolean): Promise<void> {
  while (!cond()) await sleep(20);
}

/** On a busy machine the flow may pause longer than settle() waits: give it up to 5 s to get there first. */
async function reach(count: () => number, n: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (count() < n && Date.now() < deadline) await sleep(20);
}

describe('backpressure with U=2 uploads and J=2 jobs (bound: U + J + 2 = 6 uploads)', () => {
  it('a slow first upload: only the U uploads admitted start, then all results arrive in order', async () => {
    await withProxy(
      (req) => req.headers['x-goog-upload-command'] === 'start' && req.body.includes('"bp-0"'),
      async (proxy) => {
        const f = flow(proxy, 400);
        await waitFor(() => proxy.held === 1);
        await reach(() => proxy.uploadsStarted, U);
        await settle(proxy, f.src.read);
        // Upload 1 finished behind the slow head and keeps its slot until it is taken downstream.
        expect(proxy.uploadsStarted).toBe(U);
        expect(f.src.read()).toBe(READ_WHEN_UPLOADS_STALL);
        proxy.release();
        await f.done;
        expect(f.results.map((r) => r.key)).toEqual(Array.from({ length: 400 }, (_, i) => `r${i}`));
      },
    );
  });

  it('a slow first job: U + J + 2 uploads start, no more', async () => {
    await withProxy(
      (req, p) => req.method === 'GET' && [...p.firstJob].some((n) => req.path.includes(`/${n}`)),
      async (proxy) => {
        const f = flow(proxy, 5_000);
        await waitFor(() => proxy.held === 1);
        await reach(() => proxy.uploadsStarted, U + J + 2);
        await settle(proxy, f.src.read);
        expect(proxy.uploadsStarted).toBe(U + J + 2);
        expect(f.src.read()).toBeLessThanOrEqual(READ_WHEN_JOBS_STALL);
        f.stage.destroy();
        await f.done.catch(() => undefined);
      },
    );
  });

  it('with a stateDir (the journal step in the flow), a slow first job: still U + J + 2 uploads', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'gb-bp-state-'));
    try {
      await withProxy(
        (req, p) => req.method === 'GET' && [...p.firstJob].some((n) => req.path.includes(`/${n}`)),
        async (proxy) => {
          const f = flow(proxy, 5_000, undefined, stateDir);
          await waitFor(() => proxy.held === 1);
          await reach(() => proxy.uploadsStarted, U + J + 2);
          await settle(proxy, f.src.read);
          expect(proxy.uploadsStarted).toBe(U + J + 2);
          // The journal step holds a chunk in each of its two buffers.
          expect(f.src.read()).toBeLessThanOrEqual(READ_WHEN_JOBS_STALL + 2 * PER_CHUNK);
        },
      );
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it('a slow download: U + J + 2 uploads start, no more', async () => {
    await withProxy(
      (req) => req.path.includes(':download'),
      async (proxy) => {
        const f = flow(proxy, 5_000);
        await waitFor(() => proxy.held >= 1);
        await reach(() => proxy.uploadsStarted, U + J + 2);
        await settle(proxy, f.src.read);
        expect(proxy.held).toBe(2); // the two jobs in flight, each downloading
        expect(proxy.uploadsStarted).toBe(U + J + 2);
        expect(f.src.read()).toBeLessThanOrEqual(READ_WHEN_JOBS_STALL);
        f.stage.destroy();
        await f.done.catch(() => undefined);
      },
    );
  });

  it('a stalled consumer: U + J + 2 uploads start, no more', async () => {
    await withProxy(
      () => false,
      async (proxy) => {
        let got = 0;
        const stalled = new Writable({
          objectMode: true,
          highWaterMark: 1,
          write() {
            got++; // never calls back
          },
        });
        const f = flow(proxy, 5_000, stalled);
        await waitFor(() => got === 1);
        await reach(() => proxy.uploadsStarted, U + J + 2);
        await settle(proxy, f.src.read);
        expect(got).toBe(1);
        expect(proxy.uploadsStarted).toBe(U + J + 2);
        expect(f.src.read()).toBeLessThanOrEqual(READ_WHEN_JOBS_STALL);
        f.stage.destroy();
        await f.done.catch(() => undefined);
      },
    );
  });

  it('leaves no spool files behind', () => {
    expect(readdirSync(tmp)).toEqual([]);
  });
});

/*
 * Records read while the flow stands still. The uploads counts above are
 * exact; where the source stops behind a stalled job may vary by the two
 * chunks between the uploader and the chunker (233 or 273 seen, depending on
 * which of them filled first), so those tests assert the upper bound. Jobs stalled: the 6 chunks uploaded (120 records), one chunk
 * waiting for an upload slot and one in the chunker's output buffer (40),
 * the open chunk, and the fixed record buffers in front of the chunker
 * (the source's 16, toRequestLine's, the chunker's 32): 273. Uploads
 * stalled: the same with 4 chunks fewer uploaded (273 - 80 - the 40 that
 * now wait upstream of the submitter instead) = 153.
 */
const READ_WHEN_UPLOADS_STALL = 153;
const READ_WHEN_JOBS_STALL = 273;
