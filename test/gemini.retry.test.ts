import { afterEach, describe, expect, it } from 'vitest';
import { createGeminiClient } from '../src/backends/gemini/client.js';
import { GeminiApiError } from '../src/backends/gemini/errors.js';
import { backoffDelay, parseRetryAfter, sleep, withRetry } from '../src/backends/gemini/retry.js';
import type { GeminiClient } from '../src/backends/gemini/types.js';
import { apiError, sendJson, startServer, type TestServer } from './gemini.helpers.js';

const retryable = (status = 503) =>
  new GeminiApiError({ httpStatus: status, status: 'UNAVAILABLE', detail: 'x', route: 'GET /x', retryable: true });

describe('backoff arithmetic', () => {
  it('full jitter stays under the doubling ceiling and the cap', () => {
    const p = { initialDelayMs: 100, maxDelayMs: 1_000 };
    expect(backoffDelay(1, p, () => 0.999)).toBeLessThan(100);
    expect(backoffDelay(3, p, () => 0.999)).toBeLessThan(400);
    expect(backoffDelay(3, p, () => 0.999)).toBeGreaterThan(390);
    expect(backoffDelay(20, p, () => 0.999)).toBeLessThan(1_000);
    expect(backoffDelay(5, p, () => 0)).toBe(0);
  });

  it('Retry-After: delta seconds and HTTP date', () => {
    expect(parseRetryAfter('3')).toBe(3_000);
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('Wed, 01 Jan 2020 00:00:10 GMT', now)).toBe(0);
  });
});

describe('withRetry', () => {
  it('retries retryable errors up to maxAttempts, then throws the last one', async () => {
    let calls = 0;
    const events: number[] = [];
    await expect(
      withRetry(
        async () => {
          calls++;
          throw retryable();
        },
        { policy: { maxAttempts: 4, initialDelayMs: 1, maxDelayMs: 2 }, onRetry: (e) => events.push(e.attempt) },
      ),
    ).rejects.toBeInstanceOf(GeminiApiError);
    expect(calls).toBe(4);
    expect(events).toEqual([1, 2, 3]);
  });

  it('does not retry what is not retryable', async () => {
    let calls = 0;
    const err = new GeminiApiError({ httpStatus: 404, status: 'NOT_FOUND', detail: 'x', route: 'GET /x', retryable: false });
    await expect(
      withRetry(async () => {
        calls++;
        throw err;
      }),
    ).rejects.toBe(err);
    expect(calls).toBe(1);
  });

  it('gives up when the next wait would pass maxElapsedMs', async () => {
    let calls = 0;
    const t0 = Date.now();
    await expect(
      withRetry(
        async () => {
          calls++;
          throw new GeminiApiError({ httpStatus: 429, status: 'RESOURCE_EXHAUSTED', detail: 'x', route: 'GET /x', retryable: true, retryAfterMs: 5_000 });
        },
        { policy: { maxElapsedMs: 1_000 } },
      ),
    ).rejects.toBeInstanceOf(GeminiApiError);
    expect(calls).toBe(1);
    expect(Date.now() - t0).toBeLessThan(500);
  });

  it('an abort stops the wait at once with ERR_ABORTED', async () => {
    const ac = new AbortController();
    const t0 = Date.now();
    setTimeout(() => ac.abort(), 50);
    const p = withRetry(
      async () => {
        throw new GeminiApiError({ httpStatus: 503, status: 'UNAVAILABLE', detail: 'x', route: 'GET /x', retryable: true, retryAfterMs: 60_000 });
      },
      { signal: ac.signal },
    );
    await expect(p).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    expect(Date.now() - t0).toBeLessThan(1_000);
  });

  it('sleep rejects immediately on an already aborted signal', async () => {
    await expect(sleep(10_000, AbortSignal.abort())).rejects.toMatchObject({ code: 'ERR_ABORTED' });
  });
});

describe('retries over HTTP', () => {
  let server: TestServer | undefined;
  let client: GeminiClient | undefined;
  afterEach(async () => {
    await client?.close();
    await server?.close();
  });

  it('rides out a 503 storm, honouring Retry-After', async () => {
    let n = 0;
    server = await startServer((_req, res) => {
      if (++n <= 4) return apiError(res, 503, 'UNAVAILABLE', 'overloaded', { 'retry-after': '0.05' });
      sendJson(res, 200, { name: 'files/abc', sizeBytes: '3' });
    });
    const delays: number[] = [];
    client = createGeminiClient({ baseUrl: server.url, apiKey: 'k', onRetry: (e) => delays.push(e.delayMs) });
    const f = await client.files.get('abc');
    expect(f.name).toBe('files/abc');
    expect(n).toBe(5);
    expect(delays).toEqual([50, 50, 50, 50]);
  });

  it('reads google.rpc.RetryInfo when there is no Retry-After header', async () => {
    let n = 0;
    server = await startServer((_req, res) => {
      if (++n === 1) {
        return sendJson(res, 429, {
          error: {
            code: 429,
            message: 'quota',
            status: 'RESOURCE_EXHAUSTED',
            details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '0.02s' }],
          },
        });
      }
      sendJson(res, 200, { name: 'files/abc' });
    });
    const delays: number[] = [];
    client = createGeminiClient({ baseUrl: server.url, apiKey: 'k', onRetry: (e) => delays.push(e.delayMs) });
    await client.files.get('files/abc');
    expect(delays).toEqual([20]);
  });

  it('retries a connection reset on an idempotent GET', async () => {
    let n = 0;
    server = await startServer((req, res) => {
      if (++n === 1) return void req.socket.destroy();
      sendJson(res, 200, { name: 'files/abc' });
    });
    client = createGeminiClient({ baseUrl: server.url, apiKey: 'k', retry: { initialDelayMs: 1 } });
    await expect(client.files.get('abc')).resolves.toMatchObject({ name: 'files/abc' });
    expect(n).toBe(2);
  });

  it('gives up after maxAttempts with the last error', async () => {
    server = await startServer((_req, res) => apiError(res, 500, 'INTERNAL', 'boom'));
    client = createGeminiClient({ baseUrl: server.url, apiKey: 'k', retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 2 } });
    await expect(client.files.get('abc')).rejects.toMatchObject({ httpStatus: 500, status: 'INTERNAL', code: 'ERR_GEMINI_HTTP', retryable: true });
    expect(server.seen.length).toBe(3);
  });
});
