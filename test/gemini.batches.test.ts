/**
 * Batches API over a scripted fake: exact wire bodies, create's idempotency
 * rules, operation mapping, streamed inline results and polling.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGeminiClient } from '../src/backends/gemini/client.js';
import type { BatchOperation, GeminiClient } from '../src/backends/gemini/types.js';
import { apiError, readBody, sendJson, startServer, type Handler, type TestServer } from './gemini.helpers.js';

const op = (state: string, extra: Record<string, unknown> = {}) => ({
  name: 'batches/b1',
  metadata: { '@type': 'x', name: 'batches/b1', model: 'models/gemini-x', displayName: 'job-1', state, batchStats: { requestCount: '3', pendingRequestCount: '3' }, ...extra },
});

describe('batches', () => {
  let server: TestServer | undefined;
  let client: GeminiClient | undefined;
  let dir: string;
  const bodies: string[] = [];

  async function serve(handler: Handler): Promise<GeminiClient> {
    server = await startServer(handler);
    client = createGeminiClient({ baseUrl: server.url, apiKey: 'k', retry: { initialDelayMs: 1, maxDelayMs: 5 } });
    return client;
  }
  const capture: Handler = async (req, res) => {
    bodies.push((await readBody(req)).toString());
    sendJson(res, 200, op('BATCH_STATE_PENDING'));
  };

  beforeEach(async () => {
    bodies.length = 0;
    dir = await mkdtemp(join(tmpdir(), 'api-batches-'));
  });
  afterEach(async () => {
    await client?.close();
    await server?.close();
    client = undefined;
    server = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it('create (file): route, model prefix, exact body', async () => {
    const c = await serve(capture);
    const created = await c.batches.create({ model: 'gemini-x', displayName: 'job-1', fileName: 'files/abc' });
    await c.batches.create({ model: 'models/gemini-e', task: 'embed', fileName: 'files/abc' });
    expect(server?.seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      'POST /v1beta/models/gemini-x:batchGenerateContent',
      'POST /v1beta/models/gemini-e:asyncBatchEmbedContent',
    ]);
    expect(bodies).toEqual([
      '{"batch":{"displayName":"job-1","inputConfig":{"fileName":"files/abc"}}}',
      '{"batch":{"inputConfig":{"fileName":"files/abc"}}}',
    ]);
    expect(created).toMatchObject({ name: 'batches/b1', state: 'PENDING', done: false, displayName: 'job-1', stats: { requestCount: '3' } });
  });

  it('create (inline): the requests text is spliced in byte for byte', async () => {
    const c = await serve(capture);
    const raw = '[ {"request":{"contents":[{"parts":[{"text":"héllo"}]}]},"metadata":{"key":"0:a"}} ]';
    await c.batches.create({ model: 'gemini-x', displayName: 'd"q', inlineRequestsJson: Buffer.from(raw) });
    expect(bodies[0]).toBe(`{"batch":{"displayName":"d\\"q","inputConfig":{"requests":{"requests":${raw}}}}}`);
    expect(JSON.parse(bodies[0] ?? '')).toBeTruthy();
  });

  it('create needs exactly one input', async () => {
    const c = await serve(capture);
    await expect(c.batches.create({ model: 'm' })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTIONS' });
    await expect(c.batches.create({ model: 'm', fileName: 'files/a', inlineRequestsJson: '[]' })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTIONS' });
    expect(server?.seen.length).toBe(0);
  });

  it('create retries 429 and 408 (the service refused or never read it)', async () => {
    let n = 0;
    const c = await serve(async (req, res) => {
      await readBody(req);
      n++;
      if (n === 1) return apiError(res, 429, 'RESOURCE_EXHAUSTED', 'enqueued tokens');
      if (n === 2) return apiError(res, 408, 'HTTP_408', 'request timeout');
      sendJson(res, 200, op('BATCH_STATE_PENDING'));
    });
    await expect(c.batches.create({ model: 'm', fileName: 'files/a' })).resolves.toMatchObject({ name: 'batches/b1' });
    expect(n).toBe(3);
  });

  it('create does not retry a 5xx: the job may exist, so it is ambiguous', async () => {
    const c = await serve(async (req, res) => {
      await readBody(req);
      apiError(res, 503, 'UNAVAILABLE', 'later');
    });
    await expect(c.batches.create({ model: 'm', fileName: 'files/a' })).rejects.toMatchObject({ httpStatus: 503, status: 'UNAVAILABLE', code: 'ERR_GEMINI_HTTP', ambiguous: true, retryable: true });
    expect(server?.seen.length).toBe(1);
  });

  it('create never repeats an ambiguous failure (reset after send, 504): ambiguous error instead', async () => {
    let mode: 'reset' | '504' = 'reset';
    const c = await serve(async (req, res) => {
      await readBody(req);
      if (mode === 'reset') req.socket.destroy();
      else apiError(res, 504, 'DEADLINE_EXCEEDED', 'gateway gave up');
    });
    await expect(c.batches.create({ model: 'm', displayName: 'run-1-0', fileName: 'files/a' })).rejects.toMatchObject({
      status: 'NETWORK_ERROR',
      ambiguous: true,
      retryable: true,
    });
    expect(server?.seen.length).toBe(1);
    mode = '504';
    await expect(c.batches.create({ model: 'm', fileName: 'files/a' })).rejects.toMatchObject({ httpStatus: 504, status: 'DEADLINE_EXCEEDED', ambiguous: true });
    expect(server?.seen.length).toBe(2);
    // The same failure on an idempotent call is simply retried.
    mode = 'reset';
    await expect(c.batches.get('b1')).rejects.toMatchObject({ status: 'NETWORK_ERROR', code: 'ERR_GEMINI_HTTP' });
    expect(server?.seen.length).toBeGreaterThan(3);
  });

  it('get maps the operation: JOB_STATE names, stats, responsesFile from response, error', async () => {
    const c = await serve((req, res) => {
      if (req.url?.endsWith('/ok')) {
        return sendJson(res, 200, {
          ...op('JOB_STATE_SUCCEEDED', { batchStats: { requestCount: 3, successfulRequestCount: '3' }, endTime: 't' }),
          name: 'batches/ok',
          done: true,
          response: { '@type': 'x', responsesFile: 'files/batch-ok' },
        });
      }
      sendJson(res, 200, { ...op('BATCH_STATE_FAILED'), done: true, error: { code: 13, message: 'internal', status: 'INTERNAL' } });
    });
    const ok = await c.batches.get('batches/ok');
    expect(ok).toMatchObject({ name: 'batches/ok', state: 'SUCCEEDED', done: true, responsesFile: 'files/batch-ok', endTime: 't', stats: { requestCount: '3', successfulRequestCount: '3' } });
    expect(ok.inlinedResponseCount).toBeUndefined();
    const failed = await c.batches.get('bad');
    expect(failed).toMatchObject({ state: 'FAILED', done: true, error: { code: 13, message: 'internal', status: 'INTERNAL' } });
    expect(server?.seen.map((s) => s.url)).toEqual(['/v1beta/batches/ok', '/v1beta/batches/bad']);
  });

  it('list pages through operations; cancel and delete speak the right wire', async () => {
    const c = await serve(async (req, res) => {
      const body = (await readBody(req)).toString();
      const url = new URL(req.url ?? '', 'http://x');
      if (req.method === 'GET' && url.pathname === '/v1beta/batches') {
        if (!url.searchParams.get('pageToken')) return sendJson(res, 200, { operations: [op('BATCH_STATE_RUNNING'), op('JOB_STATE_PENDING')], nextPageToken: 'p2' });
        return sendJson(res, 200, { operations: [op('BATCH_STATE_CANCELLED')] });
      }
      bodies.push(`${req.method} ${url.pathname} ${body}`);
      sendJson(res, 200, {});
    });
    const states: string[] = [];
    for await (const o of c.batches.list({ pageSize: 2 })) states.push(o.state);
    expect(states).toEqual(['RUNNING', 'PENDING', 'CANCELLED']);
    expect(server?.seen.slice(0, 2).map((s) => s.url)).toEqual(['/v1beta/batches?pageSize=2', '/v1beta/batches?pageSize=2&pageToken=p2']);
    await c.batches.cancel('batches/b1');
    await c.batches.delete('b1');
    expect(bodies).toEqual(['POST /v1beta/batches/b1:cancel {}', 'DELETE /v1beta/batches/b1 ']);
  });

  it('getToFile streams hundreds of 100 KB inline responses to JSONL, once each, with flat memory', async () => {
    const N = 300;
    const text = 'x'.repeat(100 * 1024);
    const item = (i: number) =>
      i % 50 === 7
        ? JSON.stringify({ error: { code: 400, message: 'bad', status: 'INVALID_ARGUMENT' }, metadata: { key: `${i}:k` } })
        : JSON.stringify({ response: { candidates: [{ content: { parts: [{ text: `${i}${text}` }] } }] }, metadata: { key: `${i}:k` } });
    const writeArray = async (res: ServerResponse) => {
      for (let i = 0; i < N; i++) {
        if (!res.write(`${i ? ',' : ''}${item(i)}`)) await once(res, 'drain');
      }
    };
    // Both places the service may put them: metadata.output first, response second.
    const c = await serve(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"name":"batches/b1","metadata":{"state":"BATCH_STATE_SUCCEEDED","batchStats":{"requestCount":"300"},"output":{"inlinedResponses":{"inlinedResponses":[');
      await writeArray(res);
      res.write(']}}},"done":true,"response":{"@type":"x","inlinedResponses":{"inlinedResponses":[');
      await writeArray(res);
      res.end(']}}}');
    });
    const out = join(dir, 'inline.jsonl');
    const base = process.memoryUsage().heapUsed;
    let peak = base;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 5);
    const result = await c.batches.getToFile('b1', out).finally(() => clearInterval(timer));
    // Sample once more while `result` is alive: a client that held the responses would show them here.
    peak = Math.max(peak, process.memoryUsage().heapUsed);
    expect(result).toMatchObject({ name: 'batches/b1', state: 'SUCCEEDED', done: true, inlinedResponseCount: N, stats: { requestCount: '300' } });
    // The body was ~60 MB; held whole it would show here.
    expect(peak - base).toBeLessThan(40 * 1024 * 1024);
    const raw = result.raw as { metadata: { output: { inlinedResponses: Record<string, unknown> } }; response: { inlinedResponses: Record<string, unknown> } };
    expect(raw.metadata.output.inlinedResponses).toEqual({});
    expect(raw.response.inlinedResponses).toEqual({});
    const lines = (await readFile(out, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as { key: string; response?: { candidates: { content: { parts: { text: string }[] } }[] }; error?: unknown });
    expect(lines.length).toBe(N);
    expect(new Set(lines.map((l) => l.key)).size).toBe(N);
    expect(lines[7]).toEqual({ key: '7:k', error: { code: 400, message: 'bad', status: 'INVALID_ARGUMENT' } });
    expect(lines[8]?.response?.candidates[0]?.content.parts[0]?.text).toBe(`8${text}`);
  });

  it('getToFile takes response.inlinedResponses when metadata has none, and writes no file when there are none', async () => {
    let inline = true;
    const c = await serve((_req, res) =>
      sendJson(res, 200, inline
        ? { ...op('BATCH_STATE_SUCCEEDED', { output: {} }), done: true, response: { inlinedResponses: { inlinedResponses: [{ response: { ok: 1 }, metadata: { key: 'a' } }] } } }
        : { ...op('BATCH_STATE_SUCCEEDED', { output: { responsesFile: 'files/batch-b1' } }), done: true }),
    );
    const out = join(dir, 'r.jsonl');
    const a = await c.batches.getToFile('b1', out);
    expect(a.inlinedResponseCount).toBe(1);
    expect(await readFile(out, 'utf8')).toBe('{"key":"a","response":{"ok":1}}\n');
    inline = false;
    const out2 = join(dir, 'none.jsonl');
    const b = await c.batches.getToFile('b1', out2);
    expect(b).toMatchObject({ responsesFile: 'files/batch-b1', state: 'SUCCEEDED' });
    expect(b.inlinedResponseCount).toBeUndefined();
    expect(existsSync(out2)).toBe(false);
  });

  it('waitForBatch polls with backoff, reports each state change once, stops at a terminal state', async () => {
    const script = ['BATCH_STATE_PENDING', 'BATCH_STATE_PENDING', 'BATCH_STATE_RUNNING', 'BATCH_STATE_RUNNING', 'BATCH_STATE_SUCCEEDED'];
    let n = 0;
    const c = await serve((_req, res) => {
      const state = script[Math.min(n++, script.length - 1)] ?? '';
      sendJson(res, 200, state === 'BATCH_STATE_SUCCEEDED' ? { ...op(state), done: true } : op(state));
    });
    const seen: BatchOperation[] = [];
    const final = await c.batches.waitForBatch('b1', { pollInterval: { initialMs: 5, maxMs: 20 }, onState: (o) => seen.push(o) });
    expect(final.state).toBe('SUCCEEDED');
    expect(seen.map((o) => o.state)).toEqual(['PENDING', 'RUNNING', 'SUCCEEDED']);
    expect(n).toBe(5);
  });

  it('waitForBatch: an abort ends the sleep at once', async () => {
    const c = await serve((_req, res) => sendJson(res, 200, op('BATCH_STATE_RUNNING')));
    const ac = new AbortController();
    const t0 = Date.now();
    setTimeout(() => ac.abort(), 100);
    await expect(c.batches.waitForBatch('b1', { signal: ac.signal, pollInterval: { initialMs: 60_000 } })).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    expect(Date.now() - t0).toBeLessThan(2_000);
  });
});
