/**
 * A results download cut mid-body (UND_ERR_SOCKET "other side closed") is
 * resumed with Range, checked against the promised length, and given up on
 * within the retry bounds with one error; the emulator can cut its downloads
 * and answers Range with 206; a pipeline whose results download is cut still
 * gives every record exactly once.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createGeminiClient } from '../src/backends/gemini/client.js';
import { GeminiApiError } from '../src/backends/gemini/errors.js';
import type { GeminiClient } from '../src/backends/gemini/types.js';
import { startEmulator, type RunningEmulator } from '../src/emulator/index.js';
import { geminiBatch } from '../src/index.js';
import { collect, records } from './helpers/records.js';
import { startServer, type TestServer } from './gemini.helpers.js';

const BODY = randomBytes(200_000);
const FILE = `files/batch-${'r'.repeat(36)}`;

let server: TestServer | undefined;
let client: GeminiClient | undefined;
let emu: RunningEmulator | undefined;
afterEach(async () => {
  await client?.close();
  await server?.close();
  await emu?.close();
  client = server = emu = undefined;
});

/** Sends bytes from..(from+n) of BODY under headers promising the rest, then closes the connection. */
async function sendCut(res: ServerResponse, from: number, n: number, status: number): Promise<void> {
  const headers: Record<string, string | number> = { 'content-type': 'application/octet-stream', 'content-length': BODY.length - from };
  if (status === 206) headers['content-range'] = `bytes ${from}-${BODY.length - 1}/${BODY.length}`;
  res.writeHead(status, headers);
  await new Promise<void>((resolve) => res.write(BODY.subarray(from, from + n), () => resolve()));
  res.socket?.end();
}

function rangeFrom(req: IncomingMessage): number | undefined {
  const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  return m ? Number(m[1]) : undefined;
}

async function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

async function serve(handler: (req: IncomingMessage, res: ServerResponse, n: number) => Promise<void> | void, maxAttempts = 5): Promise<GeminiClient> {
  let n = 0;
  server = await startServer((req, res) => handler(req, res, ++n));
  client = createGeminiClient({ baseUrl: server.url, apiKey: 'k', retry: { maxAttempts, initialDelayMs: 5, maxDelayMs: 20 } });
  return client;
}

describe('download: a cut body resumes', () => {
  it('asks for the rest with Range: bytes=<received>- and hands out the whole body once (download and downloadToFile)', async () => {
    const c = await serve(async (req, res, n) => {
      const from = rangeFrom(req) ?? 0;
      // Every other answer is cut 50 KB in: the first, the third, ...
      if (n % 2 === 1) return sendCut(res, from, 50_000, from === 0 ? 200 : 206);
      res.writeHead(from === 0 ? 200 : 206, {
        'content-length': BODY.length - from,
        ...(from === 0 ? {} : { 'content-range': `bytes ${from}-${BODY.length - 1}/${BODY.length}` }),
      });
      res.end(BODY.subarray(from));
    });
    expect((await readAll(await c.files.download(FILE))).equals(BODY)).toBe(true);
    expect(server!.seen.map((s) => s.headers.range)).toEqual([undefined, 'bytes=50000-']);

    const dir = await mkdtemp(join(tmpdir(), 'dl-resume-'));
    try {
      // Answer 3 is cut, answer 4 completes from byte 50000.
      expect(await c.files.downloadToFile(FILE, join(dir, 'out'))).toBe(BODY.length);
      expect((await readFile(join(dir, 'out'))).equals(BODY)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a server that ignores Range (200 again) is read past the bytes already handed out', async () => {
    const c = await serve((_req, res, n) => (n === 1 ? sendCut(res, 0, 70_000, 200) : void res.writeHead(200, { 'content-length': BODY.length }).end(BODY)));
    expect((await readAll(await c.files.download(FILE))).equals(BODY)).toBe(true);
    expect(server!.seen[1]?.headers.range).toBe('bytes=70000-');
  });

  it('a 206 that starts elsewhere than asked is refused, not spliced in', async () => {
    const c = await serve((req, res, n) => (n === 1 ? sendCut(res, 0, 70_000, 200) : sendCut(res, 10, BODY.length, 206)));
    const err = await readAll(await c.files.download(FILE)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GeminiApiError);
    expect((err as GeminiApiError).status).toBe('INVALID_RESPONSE');
    expect((err as Error).message).toMatch(/asked for bytes from 70000, got a range from 10/);
  });

  it('a body cut every time, with no progress, fails within the retry bounds with one error saying how far it got', async () => {
    const c = await serve((req, res) => sendCut(res, rangeFrom(req) ?? 0, rangeFrom(req) === undefined ? 40_000 : 0, rangeFrom(req) === undefined ? 200 : 206), 4);
    const t0 = Date.now();
    const err = await readAll(await c.files.download(FILE)).catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(err).toBeInstanceOf(GeminiApiError);
    expect((err as Error).message).toMatch(/GET \/v1beta\/files\/batch-r+:download.*stopped at byte 40000 of 200000; gave up after 4 attempts to resume/);
    // The first answer, then 4 resumes: bounded by maxAttempts.
    expect(server!.seen.length).toBeLessThanOrEqual(5);
  });

  it('each resume wait reaches the client\'s onRetry hook, with the route', async () => {
    const events: { route?: string; attempt: number }[] = [];
    server = await startServer((req, res) => sendCut(res, rangeFrom(req) ?? 0, rangeFrom(req) === undefined ? 1_000 : BODY.length, rangeFrom(req) === undefined ? 200 : 206));
    client = createGeminiClient({ baseUrl: server.url, apiKey: 'k', retry: { initialDelayMs: 1, maxDelayMs: 2 }, onRetry: (e) => events.push(e as { route?: string; attempt: number }) });
    expect((await readAll(await client.files.download(FILE))).equals(BODY)).toBe(true);
    expect(events).toEqual([{ attempt: 1, error: expect.any(GeminiApiError), delayMs: expect.any(Number), elapsedMs: expect.any(Number), route: `GET /v1beta/${FILE}:download` }]);
  });
});

describe('emulator: downloads answer Range with 206 and can be cut', () => {
  it('cutDownloadAfterBytes cuts the first answers mid-body; Range gets 206 with Content-Range', async () => {
    emu = await startEmulator({ port: 0, apiKey: 'k', pendingMs: 5, runningMs: 10, downloadUploadedFiles: true, cutDownloadAfterBytes: 1000, cutDownloadTimes: 2 });
    const dir = await mkdtemp(join(tmpdir(), 'dl-emu-'));
    try {
      const path = join(dir, 'f.jsonl');
      const { writeFile } = await import('node:fs/promises');
      const content = Buffer.from(`${'x'.repeat(5000)}\n`);
      await writeFile(path, content);
      client = createGeminiClient({ baseUrl: emu.url, apiKey: 'k', retry: { initialDelayMs: 1, maxDelayMs: 5 } });
      const file = await client.files.upload(path);
      const url = `${emu.url}/v1beta/${file.name}:download?alt=media`;
      // Cut 1: a plain GET stops after 1000 of the 5001 promised bytes.
      const cut = await fetch(url, { headers: { 'x-goog-api-key': 'k' } });
      expect(cut.headers.get('content-length')).toBe('5001');
      expect(await cut.arrayBuffer().catch((e: unknown) => e)).toBeInstanceOf(Error);
      // Cut 2, then whole: the client resumes from 1000 and gets 206s.
      expect((await readAll(await client.files.download(file.name))).equals(content)).toBe(true);
      expect(emu.counters().downloadCuts).toBe(2);
      const ranged = await fetch(url, { headers: { 'x-goog-api-key': 'k', range: 'bytes=4000-' } });
      expect(ranged.status).toBe(206);
      expect(ranged.headers.get('content-range')).toBe('bytes 4000-5000/5001');
      expect(Buffer.from(await ranged.arrayBuffer()).equals(content.subarray(4000))).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a pipeline whose results downloads are cut mid-body completes with every record exactly once', async () => {
    emu = await startEmulator({ port: 0, pendingMs: 5, runningMs: 10, cutDownloadAfterBytes: 3000, cutDownloadTimes: 4 });
    const tmp = await mkdtemp(join(tmpdir(), 'dl-pipe-'));
    try {
      const input = records(90);
      const out = await collect(
        input,
        geminiBatch({ model: 'gemini-2.5-flash', mode: 'file', maxRequestsPerBatch: 30, baseUrl: emu.url, apiKey: 'k', tmpDir: tmp, pollInterval: { initialMs: 10, maxMs: 50 }, retry: { initialDelayMs: 5, maxDelayMs: 50 } }),
      );
      expect(out.map((r) => r.key)).toEqual(input.map((r) => r.key));
      expect(out.every((r) => 'response' in r)).toBe(true);
      expect(emu.counters().downloadCuts).toBe(4);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
});
