/**
 * The pipeline end to end on the Vertex backend against the emulator's
 * Vertex jobs and Cloud Storage, in its worst-case shapes (rows shuffled, no
 * top-level key echoed, rows repeated in an incremental file, outputInfo
 * missing on the first terminal GET): records in, one result each, in input
 * order, keyed by the echoed label; failed rows come back as errors; a lost
 * create answer is adopted by label, never created twice; a download cut
 * mid-body continues; a resume on the other backend is refused.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../src/emulator/index.js';
import { geminiBatch } from '../src/index.js';
import type { GeminiBatchOptions } from '../src/options.js';
import { collect, records, responseText } from './helpers/records.js';

let dir: string;
let emu: RunningEmulator | undefined;
const saved = { ...process.env };

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gb-vertex-'));
});
afterEach(async () => {
  await emu?.close();
  emu = undefined;
  process.env = { ...saved };
  rmSync(dir, { recursive: true, force: true });
});

async function start(opts: EmulatorOptions = {}, vertexUrl?: (emuUrl: string) => Promise<string>): Promise<RunningEmulator> {
  emu = await startEmulator({ port: 0, pendingMs: 5, runningMs: 20, vertexQueueMs: 5, ...opts });
  process.env.GOOGLE_VERTEX_BASE_URL = vertexUrl ? await vertexUrl(emu.url) : emu.url;
  process.env.STORAGE_EMULATOR_HOST = emu.url;
  return emu;
}

const tokens: string[] = [];
const vertexOptions = (extra: Partial<GeminiBatchOptions> = {}): GeminiBatchOptions => ({
  model: 'gemini-2.5-flash',
  backend: 'vertex',
  vertex: {
    project: 'p1',
    location: 'us-central1',
    bucket: 'gs://bkt/runs',
    getAccessToken: () => {
      const t = `token-number-${tokens.length}`;
      tokens.push(t);
      return t;
    },
  },
  pollInterval: { initialMs: 5, maxMs: 20 },
  adoptWindowMs: 2_000,
  ...extra,
});

const promptOf = (i: number) => `prompt ${i} ✓`;

describe('geminiBatch on the Vertex backend', () => {
  it('runs 40 records in 3 jobs: one result each, in input order, keyed by the echoed label', async () => {
    const e = await start();
    const input = records(40, promptOf);
    const stream = geminiBatch(vertexOptions({ maxRequestsPerBatch: 15 }));
    const details: string[] = [];
    stream.on('job', (ev: { detail?: string }) => ev.detail && details.push(ev.detail));
    const out = await collect(input, stream);
    expect(out.map((r) => r.key)).toEqual(input.map((r) => r.key));
    out.forEach((r, i) => expect(responseText(r)).toMatch(new RegExp(`^echo: ${promptOf(i)} #`)));
    const c = e.counters();
    expect(c.batchesCreated).toBe(3);
    // The emulator echoes no top-level key and repeats rows in an incremental file: both were seen and handled.
    expect(details.some((d) => /keyed by their echoed gbs_seq label/.test(d))).toBe(true);
    expect(details.some((d) => /repeated rows ignored/.test(d))).toBe(true);
  });

  it('keys rows by the top-level key when the service echoes it', async () => {
    await start({ vertexEchoTopLevelFields: true });
    const input = records(12, promptOf);
    const stream = geminiBatch(vertexOptions());
    const details: string[] = [];
    stream.on('job', (ev: { detail?: string }) => ev.detail && details.push(ev.detail));
    const out = await collect(input, stream);
    expect(out.map((r) => r.key)).toEqual(input.map((r) => r.key));
    out.forEach((r, i) => expect(responseText(r)).toMatch(new RegExp(`^echo: ${promptOf(i)} #`)));
    expect(details.some((d) => /keyed by their echoed gbs_seq label/.test(d))).toBe(false);
  });

  it('failed rows come back as errors read from their status text, the others as answers', async () => {
    await start({ requestErrorRate: 0.3, seed: 7 });
    const input = records(30, promptOf);
    const out = await collect(input, geminiBatch(vertexOptions({ retryFailedRequests: 0 })));
    expect(out.map((r) => r.key)).toEqual(input.map((r) => r.key));
    const failed = out.filter((r) => 'error' in r);
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.length).toBeLessThan(30);
    for (const r of failed) {
      const err = (r as { error: { code: number; status: string; message: string } }).error;
      expect(err.message).toMatch(/Failed to get generateContentResponse|Bad Request/);
      expect(err.status).not.toBe('MISSING_RESULT');
      expect(typeof err.code).toBe('number');
    }
  });

  it('a download cut mid-body continues from where it stopped (Range) and the results are whole', async () => {
    const e = await start({ gcsCutDownloads: 2 });
    const input = records(25, promptOf);
    const out = await collect(input, geminiBatch(vertexOptions()));
    expect(out.map((r) => r.key)).toEqual(input.map((r) => r.key));
    expect(out.every((r) => 'response' in r)).toBe(true);
    expect(e.counters().batchesCreated).toBe(1);
  });

  it('a create whose answer was lost is adopted by its labels, never created twice', async () => {
    let lost = 0;
    const e = await start({}, (url) => dropFirstCreateAnswer(url, () => lost++));
    const input = records(10, promptOf);
    const out = await collect(input, geminiBatch(vertexOptions()));
    expect(lost).toBe(1);
    expect(out.map((r) => r.key)).toEqual(input.map((r) => r.key));
    expect(out.every((r) => 'response' in r)).toBe(true);
    expect(e.counters().batchesCreated).toBe(1);
  });

  it('every create answer lost and the list late: each job is looked for patiently by label and adopted, none made twice', async () => {
    const e = await start({ ambiguousCreateRate: 1, listLagMs: 600 });
    const input = records(10, promptOf);
    const stream = geminiBatch(vertexOptions({ maxRequestsPerBatch: 5 }));
    const details: string[] = [];
    stream.on('job', (ev: { detail?: string }) => ev.detail && details.push(ev.detail));
    const out = await collect(input, stream);
    expect(out.map((r) => r.key)).toEqual(input.map((r) => r.key));
    expect(out.every((r) => 'response' in r)).toBe(true);
    expect(e.counters().batchesCreated).toBe(2);
    expect(Object.values(e.counters().createsByDisplayName)).toEqual([1, 1]);
    // The first list after each lost answer came too early: the run said it was still looking.
    expect(details.some((d) => /looking for the batch whose create answer was lost/.test(d))).toBe(true);
  });

  it('the 24 h processing cut-off keeps the rows that finished and sends only the rest again', async () => {
    const e = await start({ vertexCutoffRows: 5 });
    const input = records(12, promptOf);
    const out = await collect(input, geminiBatch(vertexOptions()));
    expect(out.map((r) => r.key)).toEqual(input.map((r) => r.key));
    out.forEach((r, i) => expect(responseText(r)).toMatch(new RegExp(`^echo: ${promptOf(i)} #`)));
    // The first job answered 5 rows; every job after it answers at most 5 of what is left.
    expect(e.counters().batchesCreated).toBe(3);
  });

  it('a job EXPIRED in the queue goes again as two halves', async () => {
    const e = await start({ vertexExpireJobs: [1] });
    const input = records(8, promptOf);
    const out = await collect(input, geminiBatch(vertexOptions()));
    expect(out.map((r) => r.key)).toEqual(input.map((r) => r.key));
    expect(out.every((r) => 'response' in r)).toBe(true);
    expect(e.counters().batchesCreated).toBe(3);
  });

  it('a 401 on an expired token fetches a fresh one and goes on', async () => {
    await start({ expiredTokenResponses: 1 });
    tokens.length = 0;
    const out = await collect(records(5, promptOf), geminiBatch(vertexOptions()));
    expect(out.every((r) => 'response' in r)).toBe(true);
    expect(tokens).toEqual(['token-number-0', 'token-number-1']);
  });

  it('a token refused twice fails the run once, and the token is in no error', async () => {
    await start({ expiredTokenResponses: 1_000 });
    tokens.length = 0;
    const err = await collect(records(2, promptOf), geminiBatch(vertexOptions())).then(
      () => undefined,
      (e: unknown) => e as Error & { httpStatus?: number },
    );
    expect(err?.httpStatus).toBe(401);
    expect(tokens).toHaveLength(2);
    const seen = `${err?.message} ${err?.stack} ${JSON.stringify(err)} ${String((err?.cause as Error | undefined)?.message)}`;
    for (const t of tokens) expect(seen).not.toContain(t);
  });

  it('a state dir of a Vertex run is not resumed on the Developer API', async () => {
    await start({ vertexQueueMs: 60_000 });
    const stateDir = join(dir, 'state');
    const ac = new AbortController();
    const first = geminiBatch(vertexOptions({ stateDir, signal: ac.signal }));
    first.on('job', (ev: { state?: string }) => ev.state === 'PENDING' && ac.abort());
    await expect(collect(records(3, promptOf), first)).rejects.toThrow();
    expect(() => geminiBatch({ model: 'gemini-2.5-flash', stateDir, apiKey: 'k', baseUrl: emu!.url })).toThrow(/belongs to a run with other settings \(.*backend was "vertex", now undefined/);
  });

  it('refuses requests Vertex does not take, in one sentence, as invalid records', async () => {
    await start();
    const input = [
      { key: 'a', request: { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] } },
      { key: 'b', request: { contents: [{ role: 'user', parts: [{ text: 'hi' }] }], cachedContent: 'cachedContents/x' } },
    ];
    const out = await collect(input, geminiBatch(vertexOptions({ onInvalid: 'emit' })));
    expect(out.map((r) => r.key)).toEqual(['a', 'b']);
    expect('response' in out[0]!).toBe(true);
    expect((out[1] as { error: { message: string } }).error.message).toMatch(/Vertex AI batch does not take cachedContent/);
  });

  it('names a missing project or bucket in one sentence', () => {
    delete process.env.GOOGLE_CLOUD_PROJECT;
    expect(() => geminiBatch({ model: 'm', backend: 'vertex', vertex: { bucket: 'gs://bkt/p' } })).toThrow(/needs a Google Cloud project: give vertex.project or set GOOGLE_CLOUD_PROJECT/);
    expect(() => geminiBatch({ model: 'm', backend: 'vertex', vertex: { project: 'p' } })).toThrow(/needs a Cloud Storage place .* gs:\/\/BUCKET\/PREFIX/);
  });
});

/** A proxy to the emulator that forwards the first job create and answers it 503: the job exists, its answer is lost. */
async function dropFirstCreateAnswer(target: string, onDrop: () => void): Promise<string> {
  let dropped = false;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', target);
    const fwd = httpRequest(url, { method: req.method, headers: { ...req.headers, host: url.host } }, (up) => {
      if (!dropped && req.method === 'POST' && /batchPredictionJobs$/.test(url.pathname)) {
        dropped = true;
        onDrop();
        up.resume();
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 503, message: 'The service is currently unavailable.', status: 'UNAVAILABLE' } }));
        return;
      }
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    req.pipe(fwd);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const prevClose = emu!.close.bind(emu);
  emu!.close = async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await prevClose();
  };
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
