/**
 * The emulator's limits and fault knobs, driven over plain HTTP the way a
 * hand-written REST client would: every knob does what it says, and only that.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../src/emulator/index.js';
import {
  call,
  createFileBatch,
  jsonl,
  resultLines,
  spawnEmulator,
  startUpload,
  uploadOnce,
  waitDone,
  type Operation,
} from './emulator.helpers.js';

const running: RunningEmulator[] = [];
async function emulator(opts: EmulatorOptions = {}): Promise<RunningEmulator> {
  const e = await startEmulator({ port: 0, pendingMs: 5, runningMs: 10, ...opts });
  running.push(e);
  return e;
}
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.close()));
});

const json = { 'content-type': 'application/json' };
const inlineBody = (n: number, displayName = 'inline'): string =>
  JSON.stringify({
    batch: {
      displayName,
      inputConfig: {
        requests: {
          requests: Array.from({ length: n }, (_, i) => ({
            request: { contents: [{ role: 'user', parts: [{ text: `q${i}` }] }] },
            metadata: { key: `k${i}` },
          })),
        },
      },
    },
  });
const createInline = (url: string, n: number, displayName?: string) =>
  call('POST', `${url}/v1beta/models/gemini-2.5-flash:batchGenerateContent`, { headers: json, body: inlineBody(n, displayName) });

async function runFileJob(url: string, body: string): Promise<{ op: Operation; rows: Record<string, unknown>[] }> {
  const name = await uploadOnce(url, Buffer.from(body));
  const c = await createFileBatch(url, name);
  expect(c.status).toBe(200);
  const op = await waitDone(url, (c.json() as { name: string }).name);
  const rows = op.metadata.output?.responsesFile ? await resultLines(url, op.metadata.output.responsesFile) : [];
  return { op, rows };
}

describe('limits and errors', () => {
  it('rejects an inline create over maxInlineBytes with 400 INVALID_ARGUMENT', async () => {
    const e = await emulator({ maxInlineBytes: 10_000 });
    const r = await createInline(e.url, 200);
    expect(r.status).toBe(400);
    expect(r.json()).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT' } });
    expect(String((r.json().error as { message: string }).message)).toMatch(/exceeds the limit/);
    expect(e.counters().batchesCreated).toBe(0);
  });

  it('checks the API key (header or ?key=), never on upload pieces', async () => {
    const e = await emulator({ apiKey: 'sekret' });
    for (const headers of [{}, { 'x-goog-api-key': 'nope' }] as Record<string, string>[]) {
      const r = await call('GET', `${e.url}/v1beta/batches`, { headers });
      expect(r.status).toBe(400);
      expect(r.json()).toEqual({
        error: {
          code: 400,
          message: 'API key not valid. Please pass a valid API key.',
          status: 'INVALID_ARGUMENT',
          details: [expect.objectContaining({ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID' })],
        },
      });
    }
    expect((await call('GET', `${e.url}/v1beta/batches`, { headers: { 'x-goog-api-key': 'sekret' } })).status).toBe(200);
    expect((await call('GET', `${e.url}/v1beta/batches?key=sekret`)).status).toBe(200);

    const start = await call('POST', `${e.url}/upload/v1beta/files?key=sekret`, {
      headers: { ...json, 'x-goog-upload-protocol': 'resumable', 'x-goog-upload-command': 'start' },
      body: '{}',
    });
    const piece = await call('POST', String(start.headers['x-goog-upload-url']), {
      headers: { 'x-goog-upload-command': 'upload, finalize', 'x-goog-upload-offset': '0' },
      body: jsonl(2),
    });
    expect(piece.status).toBe(200);
    expect(piece.headers['x-goog-upload-status']).toBe('final');
  });

  it('answers malformed JSON, unknown routes and unknown resources with Google error bodies', async () => {
    const e = await emulator();
    const bad = await call('POST', `${e.url}/v1beta/models/gemini-2.5-flash:batchGenerateContent`, { headers: json, body: '{"batch": ' });
    expect(bad.status).toBe(400);
    expect(bad.json()).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT' } });
    expect((await call('GET', `${e.url}/v1beta/nothing-here`)).json()).toMatchObject({ error: { code: 404, status: 'NOT_FOUND' } });
    expect((await call('GET', `${e.url}/v1beta/files/nope`)).status).toBe(404);
    expect((await call('GET', `${e.url}/v1beta/batches/nope`)).status).toBe(404);
    expect((await call('POST', `${e.url}/v1beta/batches/nope:cancel`, { body: '{}' })).status).toBe(404);
    const noFile = await createFileBatch(e.url, 'files/missing');
    expect(noFile.status).toBe(400);
  });

  it('refuses a file over maxFileBytes at start, and an upload that outgrows it', async () => {
    const e = await emulator({ maxFileBytes: 1000 });
    await expect(startUpload(e.url, 5000)).rejects.toThrow(/400/);
    const url = await startUpload(e.url, 900);
    const r = await call('POST', url, {
      headers: { 'x-goog-upload-command': 'upload, finalize', 'x-goog-upload-offset': '0' },
      body: Buffer.alloc(1500, 0x61),
    });
    expect(r.status).toBe(400);
  });
});

describe('job output', () => {
  it('turns a bad input line into an error line for its key while the rest succeed', async () => {
    const e = await emulator();
    const body =
      JSON.stringify({ key: 'ok1', request: { contents: [{ parts: [{ text: 'a' }] }] } }) +
      '\n{not json\n' +
      JSON.stringify({ key: 'no-contents', request: { generationConfig: {} } }) +
      '\n\n' +
      JSON.stringify({ key: 'ok2', request: { contents: [{ parts: [{ text: 'b' }] }] } }) +
      '\n';
    const { op, rows } = await runFileJob(e.url, body);
    expect(op.metadata.state).toBe('BATCH_STATE_SUCCEEDED');
    expect(op.metadata.batchStats).toEqual({ requestCount: '4', successfulRequestCount: '2', failedRequestCount: '2' });
    const byKey = new Map(rows.map((r) => [r.key as string, r]));
    expect([...byKey.keys()]).toEqual(['ok1', '2', 'no-contents', 'ok2']);
    // google.rpc.Status with gRPC 3 INVALID_ARGUMENT and no status string, as the service writes them.
    expect(byKey.get('2')!.error).toEqual({ code: 3, message: expect.any(String) });
    expect(String((byKey.get('2')!.error as { message: string }).message)).toMatch(/line 2.*not valid JSON/);
    expect(byKey.get('no-contents')!.error).toEqual({ code: 3, message: expect.any(String) });
    expect(byKey.get('ok1')!.response).toBeDefined();
    expect(op.response).toMatchObject({ responsesFile: op.metadata.output!.responsesFile });
  });

  it('shuffles, drops and duplicates result lines as asked, repeatably per seed', async () => {
    const input = jsonl(3000);
    const keys = (rows: Record<string, unknown>[]): string[] => rows.map((r) => r.key as string);

    const shuffled = await runFileJob((await emulator({ shuffleResults: true })).url, input);
    const got = keys(shuffled.rows);
    expect(got).not.toEqual(keys(shuffled.rows).sort());
    expect(got).toHaveLength(3000);
    expect(new Set(got).size).toBe(3000);
    expect(got.slice(0, 10)).not.toEqual(['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7', 'k8', 'k9']);

    const same = await runFileJob((await emulator({ shuffleResults: true })).url, input);
    expect(keys(same.rows)).toEqual(got);

    const dropped = await runFileJob((await emulator({ dropResults: 3 })).url, input);
    expect(dropped.rows).toHaveLength(2997);
    expect(new Set(keys(dropped.rows)).size).toBe(2997);

    const dup = await runFileJob((await emulator({ duplicateResults: 2 })).url, input);
    expect(dup.rows).toHaveLength(3002);
    expect(new Set(keys(dup.rows)).size).toBe(3000);
  });

  it('answers per-request errors at requestErrorRate', async () => {
    const e = await emulator({ requestErrorRate: 1 });
    const { op, rows } = await runFileJob(e.url, jsonl(50));
    expect(op.metadata.batchStats).toEqual({ requestCount: '50', failedRequestCount: '50' });
    // gRPC codes of transient failures (13 INTERNAL, 14 UNAVAILABLE, 8 RESOURCE_EXHAUSTED, 4 DEADLINE_EXCEEDED), no status string.
    for (const r of rows) {
      expect([13, 14, 8, 4]).toContain((r.error as { code: number }).code);
      expect(r.error).not.toHaveProperty('status');
    }
    expect(new Set(rows.map((r) => (r.error as { code: number }).code)).has(13)).toBe(true);
  });

  it('fails and expires the chosen jobs, by creation ordinal', async () => {
    const e = await emulator({ failJobs: [2], expireJobs: [3] });
    const names: string[] = [];
    for (let i = 0; i < 3; i++) names.push(((await createInline(e.url, 2)).json() as { name: string }).name);
    const [ok, failed, expired] = await Promise.all(names.map((n) => waitDone(e.url, n)));
    expect(ok!.metadata.state).toBe('BATCH_STATE_SUCCEEDED');
    expect(ok!.metadata.output?.inlinedResponses?.inlinedResponses).toHaveLength(2);
    expect(failed!.metadata.state).toBe('BATCH_STATE_FAILED');
    expect(failed!.error).toMatchObject({ code: expect.any(Number), message: expect.stringContaining('failed') });
    expect(failed!.metadata.output).toBeUndefined();
    expect(expired!.metadata.state).toBe('BATCH_STATE_EXPIRED');
    expect(expired!.metadata.output).toBeUndefined();
    expect(expired!.response).toBeUndefined();
  });

  it('answers 429 RESOURCE_EXHAUSTED on create past maxEnqueuedRequests', async () => {
    const e = await emulator({ maxEnqueuedRequests: 10, pendingMs: 60_000 });
    expect((await createInline(e.url, 6)).status).toBe(200);
    const r = await createInline(e.url, 6);
    expect(r.status).toBe(429);
    expect(r.json()).toMatchObject({ error: { code: 429, status: 'RESOURCE_EXHAUSTED' } });
    expect((await createInline(e.url, 4)).status).toBe(200);
  });

  it('injects HTTP errors per route, and ambiguous creates that did happen', async () => {
    const e = await emulator({ errorRates: { list: 1 }, errorStatuses: [503] });
    expect((await call('GET', `${e.url}/v1beta/batches`)).json()).toMatchObject({ error: { code: 503, status: 'UNAVAILABLE' } });
    expect((await call('GET', `${e.url}/v1beta/files`)).status).toBe(200);
    expect(e.counters().injectedErrors).toBe(1);

    const a = await emulator({ ambiguousCreateRate: 1 });
    const r = await createInline(a.url, 1, 'chunk-7');
    expect(r.status).toBe(503);
    expect(a.counters().createsByDisplayName).toEqual({ 'chunk-7': 1 });
    const listed = (await call('GET', `${a.url}/v1beta/batches`)).json().operations as Operation[];
    expect(listed).toHaveLength(1);
  });

  it('expires files and stuck jobs after 48 h on its clock', async () => {
    let clock = Date.parse('2025-01-01T00:00:00Z');
    const e = await emulator({ now: () => clock, pendingMs: 60_000 });
    const name = await uploadOnce(e.url, Buffer.from(jsonl(1)));
    const job = ((await createFileBatch(e.url, name)).json() as { name: string }).name;
    clock += 49 * 3600 * 1000;
    expect((await call('GET', `${e.url}/v1beta/${name}`)).status).toBe(404);
    const op = (await call('GET', `${e.url}/v1beta/${job}`)).json() as unknown as Operation;
    expect(op.metadata.state).toBe('BATCH_STATE_EXPIRED');
    expect(op.done).toBe(true);
  });
});

describe('resumable upload faults', () => {
  it('keeps the bytes before a cut: query reports them and the upload resumes from there', async () => {
    const e = await emulator({ cutUploadAfterBytes: 100_000 });
    const data = Buffer.from(jsonl(4000));
    const url = await startUpload(e.url, data.length);
    await expect(
      call('POST', url, { headers: { 'x-goog-upload-command': 'upload', 'x-goog-upload-offset': '0' }, body: data.subarray(0, 300_000) }),
    ).rejects.toThrow();
    expect(e.counters().uploadCuts).toBe(1);

    const q = await call('POST', url, { headers: { 'x-goog-upload-command': 'query' } });
    expect(q.status).toBe(200);
    expect(q.headers['x-goog-upload-status']).toBe('active');
    expect(q.headers['x-goog-upload-size-received']).toBe('100000');

    const wrong = await call('POST', url, {
      headers: { 'x-goog-upload-command': 'upload', 'x-goog-upload-offset': '0' },
      body: data.subarray(0, 10),
    });
    expect(wrong.status).toBe(400);
    expect(wrong.json()).toMatchObject({ error: { status: 'INVALID_ARGUMENT' } });

    const rest = await call('POST', url, {
      headers: { 'x-goog-upload-command': 'upload, finalize', 'x-goog-upload-offset': '100000' },
      body: data.subarray(100_000),
    });
    expect(rest.status).toBe(200);
    expect(rest.headers['x-goog-upload-status']).toBe('final');
    const file = rest.json().file as { name: string; sizeBytes: string; sha256Hash: string };
    expect(file.sizeBytes).toBe(String(data.length));
    // Hashed incrementally across the cut: base64 of the hex digest, as the service encodes it.
    expect(file.sha256Hash).toBe(Buffer.from(createHash('sha256').update(data).digest('hex')).toString('base64'));
    // The service does not serve an uploaded file back (only generated ones): the hash above is the check.
    const back = await call('GET', `${e.url}/v1beta/${file.name}:download?alt=media`);
    expect(back.status).toBe(400);
    expect(back.json()).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT' } });
  });
});

describe('the CLI process', () => {
  const dir = mkdtempSync(join(tmpdir(), 'emu-mem-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('takes its knobs as flags and exits 0 on SIGTERM', async () => {
    const { url, child } = await spawnEmulator(['--api-key', 'k', '--fail-jobs', '1', '--pending-ms', '0', '--running-ms', '0']);
    try {
      expect((await call('GET', `${url}/v1beta/batches`)).status).toBe(400);
      const r = await call('POST', `${url}/v1beta/models/gemini-2.5-flash:batchGenerateContent?key=k`, { headers: json, body: inlineBody(1) });
      const name = (r.json() as { name: string }).name;
      let op: Operation;
      do op = (await call('GET', `${url}/v1beta/${name}?key=k`)).json() as unknown as Operation;
      while (!op.done);
      expect(op.metadata.state).toBe('BATCH_STATE_FAILED');
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
  });

  it('processes a ~300 MB input file in flat memory (RSS < 200 MB)', async () => {
    const path = join(dir, 'big.jsonl');
    const lines = await writeBigInput(path, 300 * 1024 * 1024);
    const { url, child } = await spawnEmulator(['--pending-ms', '0', '--running-ms', '0']);
    try {
      const name = await uploadOnce(url, path);
      const c = await createFileBatch(url, name, 'big');
      const op = await waitDone(url, (c.json() as { name: string }).name, 120_000);
      expect(op.metadata.state).toBe('BATCH_STATE_SUCCEEDED');
      expect(op.metadata.batchStats).toEqual({ requestCount: String(lines), successfulRequestCount: String(lines) });
      const counters = (await call('GET', `${url}/_emulator/counters`)).json();
      expect(counters.resultLines).toBe(lines);
      expect(counters.maxRssBytes).toBeLessThan(200 * 1024 * 1024);
    } finally {
      child.kill('SIGTERM');
    }
  }, 120_000);
});

/** ~600-byte lines with non-ASCII text, written in 1,000-line blocks; returns the line count. */
async function writeBigInput(path: string, bytes: number): Promise<number> {
  const ws = createWriteStream(path);
  const text = 'Grüße aus Köln, naïve café, 東京の天気は晴れ. '.repeat(10);
  const pre = '{"key":"';
  const post = `","request":{"contents":[{"role":"user","parts":[{"text":"${text}"}]}]}}`;
  let size = 0;
  let n = 0;
  while (size < bytes) {
    let block = '';
    for (let j = 0; j < 1000; j++) block += `${pre}r${n++}${post}\n`;
    const buf = Buffer.from(block);
    size += buf.length;
    if (!ws.write(buf)) await once(ws, 'drain');
  }
  ws.end();
  await once(ws, 'finish');
  return n;
}
