/**
 * Patient adoption over real HTTP: a batch that shows up in the list only
 * after a few passes is found; a list that throttles (429) is ridden out and
 * never taken for "not there"; paging is bounded.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createGeminiClient } from '../src/backends/gemini/client.js';
import type { GeminiClient } from '../src/backends/gemini/types.js';
import { apiError, sendJson, startServer, type Handler, type TestServer } from './gemini.helpers.js';

const op = (name: string, displayName: string, state = 'BATCH_STATE_RUNNING') => ({ name, metadata: { name, displayName, state } });

describe('batches.findByDisplayName', () => {
  let server: TestServer | undefined;
  let client: GeminiClient | undefined;
  afterEach(async () => {
    await client?.close();
    await server?.close();
    client = undefined;
    server = undefined;
  });
  async function serve(handler: Handler): Promise<GeminiClient> {
    server = await startServer(handler);
    client = createGeminiClient({ baseUrl: server.url, apiKey: 'k', retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 2 } });
    return client;
  }
  const fast = { initialDelayMs: 5, maxDelayMs: 10 };

  it('keeps listing until a lagging list shows the batch', async () => {
    let lists = 0;
    const c = await serve((_req, res) => {
      lists++;
      sendJson(res, 200, { operations: lists < 4 ? [op('batches/other', 'run-0')] : [op('batches/other', 'run-0'), op('batches/mine', 'run-1')] });
    });
    const misses: number[] = [];
    const found = await c.batches.findByDisplayName('run-1', { ...fast, windowMs: 10_000, onMiss: (m) => misses.push(m.passes) });
    expect(found).toMatchObject({ name: 'batches/mine', displayName: 'run-1', state: 'RUNNING' });
    expect(lists).toBe(4);
    expect(misses).toEqual([1, 2, 3]);
    expect(server?.seen.every((s) => s.url === '/v1beta/batches?pageSize=100')).toBe(true);
  });

  it('concludes "not there" only after the whole window, with more than one pass', async () => {
    const c = await serve((_req, res) => sendJson(res, 200, { operations: [op('batches/other', 'x')] }));
    const t0 = Date.now();
    await expect(c.batches.findByDisplayName('run-1', { ...fast, windowMs: 150 })).resolves.toBeUndefined();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
    expect(server!.seen.length).toBeGreaterThan(2);
  });

  it('429 on list: the pass counts as failed, not as "not there"; later passes find it', async () => {
    let n = 0;
    const c = await serve((_req, res) => {
      // Each failed pass costs 2 requests (the client's own retry): four 429s = two failed passes.
      if (++n <= 4) return apiError(res, 429, 'RESOURCE_EXHAUSTED', 'slow down');
      sendJson(res, 200, { operations: [op('batches/mine', 'run-1')] });
    });
    const errors: unknown[] = [];
    const found = await c.batches.findByDisplayName('run-1', { ...fast, windowMs: 10_000, onMiss: (m) => m.error && errors.push(m.error) });
    expect(found?.name).toBe('batches/mine');
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatchObject({ httpStatus: 429, status: 'RESOURCE_EXHAUSTED' });
  });

  it('a window in which no list ever succeeded throws instead of answering "not there"', async () => {
    const c = await serve((_req, res) => apiError(res, 429, 'RESOURCE_EXHAUSTED', 'slow down'));
    await expect(c.batches.findByDisplayName('run-1', { ...fast, windowMs: 50 })).rejects.toMatchObject({ httpStatus: 429, code: 'ERR_GEMINI_HTTP' });
  });

  it('a non-retryable error ends the search at once', async () => {
    const c = await serve((_req, res) => apiError(res, 403, 'PERMISSION_DENIED', 'no'));
    await expect(c.batches.findByDisplayName('run-1', { ...fast, windowMs: 10_000 })).rejects.toMatchObject({ httpStatus: 403 });
    expect(server?.seen.length).toBe(1);
  });

  it('prefers a succeeded or live batch over a failed one of the same name', async () => {
    const c = await serve((_req, res) =>
      sendJson(res, 200, { operations: [op('batches/f', 'run-1', 'BATCH_STATE_FAILED'), op('batches/ok', 'run-1', 'BATCH_STATE_SUCCEEDED')] }),
    );
    expect((await c.batches.findByDisplayName('run-1', fast))?.name).toBe('batches/ok');
  });

  it('paging is bounded per pass (pageSize x maxPages)', async () => {
    let page = 0;
    const c = await serve((_req, res) => {
      page++;
      sendJson(res, 200, { operations: [op(`batches/p${page}a`, 'x'), op(`batches/p${page}b`, 'x')], nextPageToken: `t${page}` });
    });
    await expect(c.batches.findByDisplayName('run-1', { ...fast, windowMs: 0, pageSize: 2, maxPages: 3 })).resolves.toBeUndefined();
    expect(page).toBe(3);
    expect(server?.seen.map((s) => s.url)).toEqual(['/v1beta/batches?pageSize=2', '/v1beta/batches?pageSize=2&pageToken=t1', '/v1beta/batches?pageSize=2&pageToken=t2']);
  });
});
