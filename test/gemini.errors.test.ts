import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createGeminiClient } from '../src/backends/gemini/client.js';
import { GeminiApiError } from '../src/backends/gemini/errors.js';
import type { GeminiClient } from '../src/backends/gemini/types.js';
import { GeminiBatchError } from '../src/errors.js';
import { sendJson, startServer, type TestServer } from './gemini.helpers.js';

const KEY = 'SECRET-KEY-123';

function expectNoKey(err: unknown): void {
  expect(err).toBeInstanceOf(Error);
  const e = err as Error;
  const everything = [e.message, e.stack ?? '', JSON.stringify(e), String(e.cause), (e.cause as Error | undefined)?.stack ?? ''].join('\n');
  expect(everything).not.toContain(KEY);
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('errors', () => {
  let server: TestServer | undefined;
  let client: GeminiClient | undefined;
  afterEach(async () => {
    await client?.close();
    await server?.close();
    client = undefined;
    server = undefined;
  });

  it('maps the error body to httpStatus/status/reason/route, code always ERR_GEMINI_HTTP, and scrubs a key the server echoed', async () => {
    server = await startServer((req, res) =>
      sendJson(res, 400, {
        error: {
          code: 400,
          message: `API key not valid: ${String(req.headers['x-goog-api-key'])}`,
          status: 'INVALID_ARGUMENT',
          details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID' }],
        },
      }),
    );
    client = createGeminiClient({ baseUrl: server.url, apiKey: KEY });
    const err = await client.batches.get('batches/abc').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GeminiApiError);
    expect(err).toBeInstanceOf(GeminiBatchError);
    expect(err).toMatchObject({
      httpStatus: 400,
      status: 'INVALID_ARGUMENT',
      reason: 'API_KEY_INVALID',
      route: 'GET /v1beta/batches/abc',
      retryable: false,
      code: 'ERR_GEMINI_HTTP',
    });
    expect((err as Error).message).toBe('Gemini API 400 INVALID_ARGUMENT on GET /v1beta/batches/abc: API key not valid: [REDACTED]');
    expectNoKey(err);
  });

  it('sends the key only as x-goog-api-key, never in the URL', async () => {
    server = await startServer((_req, res) => sendJson(res, 200, { files: [] }));
    client = createGeminiClient({ baseUrl: server.url, apiKey: KEY });
    for await (const _ of client.files.list({ pageSize: 5 })) void _;
    expect(server.seen[0]?.headers['x-goog-api-key']).toBe(KEY);
    expect(server.seen[0]?.url).toBe('/v1beta/files?pageSize=5');
    expect(server.seen.every((s) => !s.url.includes(KEY))).toBe(true);
  });

  it('HTTP_<n> when the body is not a Google error; 404 NOT_FOUND not retried', async () => {
    server = await startServer((req, res) => {
      if (req.url?.includes('html')) {
        res.writeHead(418, { 'content-type': 'text/html' });
        res.end('<html>teapot</html>');
        return;
      }
      sendJson(res, 404, { error: { code: 404, message: 'Requested entity was not found.', status: 'NOT_FOUND' } });
    });
    client = createGeminiClient({ baseUrl: server.url, apiKey: KEY });
    await expect(client.files.get('html')).rejects.toMatchObject({ httpStatus: 418, status: 'HTTP_418', code: 'ERR_GEMINI_HTTP', retryable: false });
    await expect(client.files.get('files/nope')).rejects.toMatchObject({ httpStatus: 404, status: 'NOT_FOUND', code: 'ERR_GEMINI_HTTP', route: 'GET /v1beta/files/nope' });
    expect(server.seen.filter((s) => s.url.includes('nope')).length).toBe(1);
  });

  it('connection refused: status 0, NETWORK_ERROR, retryable, not ambiguous, no key', async () => {
    const port = await freePort();
    client = createGeminiClient({ baseUrl: `http://127.0.0.1:${port}`, apiKey: KEY, retry: { maxAttempts: 2, initialDelayMs: 1 } });
    const err = await client.files.get('x').catch((e: unknown) => e);
    expect(err).toMatchObject({ httpStatus: 0, status: 'NETWORK_ERROR', code: 'ERR_GEMINI_HTTP', retryable: true, ambiguous: false, errno: 'ECONNREFUSED' });
    expect((err as Error).message).toMatch(/^Gemini API NETWORK_ERROR on GET \/v1beta\/files\/x: ECONNREFUSED/);
    // The raw undici/net error is kept as `cause` (scrubbed: its name, code and message only).
    expect((err as Error).cause).toBeInstanceOf(Error);
    expect((err as Error).cause).toMatchObject({ code: 'ECONNREFUSED' });
    expectNoKey(err);
  });

  it('a reset after the request was sent is ambiguous', async () => {
    server = await startServer((req) => {
      req.socket.destroy();
    });
    client = createGeminiClient({ baseUrl: server.url, apiKey: KEY, retry: { maxAttempts: 1 } });
    const err = await client.files.get('x').catch((e: unknown) => e);
    expect(err).toMatchObject({ httpStatus: 0, status: 'NETWORK_ERROR', code: 'ERR_GEMINI_HTTP', retryable: true, ambiguous: true });
    expectNoKey(err);
  });

  it('a bad option is a clear ERR_INVALID_OPTIONS that never echoes the key', () => {
    expect(() => createGeminiClient({ baseUrl: 'not a url', apiKey: KEY })).toThrow(/baseUrl must be an http\(s\) URL/);
    expect(() => createGeminiClient({ connections: 0 })).toThrow(GeminiBatchError);
    try {
      createGeminiClient({ apiKey: KEY, connections: -1 });
    } catch (err) {
      expect(err).toMatchObject({ code: 'ERR_INVALID_OPTIONS' });
      expectNoKey(err);
    }
  });

  it('no key against the real service is refused up front', () => {
    const saved = { g: process.env.GOOGLE_API_KEY, m: process.env.GEMINI_API_KEY, b: process.env.GOOGLE_GEMINI_BASE_URL };
    delete process.env.GOOGLE_API_KEY;
    delete process.env.GEMINI_API_KEY;
    delete process.env.GOOGLE_GEMINI_BASE_URL;
    try {
      expect(() => createGeminiClient()).toThrow(/no API key/);
      process.env.GEMINI_API_KEY = 'from-env';
      const c = createGeminiClient();
      expect(c.baseUrl).toBe('https://generativelanguage.googleapis.com');
      void c.close();
    } finally {
      for (const [k, v] of [['GOOGLE_API_KEY', saved.g], ['GEMINI_API_KEY', saved.m], ['GOOGLE_GEMINI_BASE_URL', saved.b]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('GOOGLE_API_KEY wins over GEMINI_API_KEY; GOOGLE_GEMINI_BASE_URL is used', async () => {
    server = await startServer((_req, res) => sendJson(res, 200, { name: 'files/a' }));
    const saved = { g: process.env.GOOGLE_API_KEY, m: process.env.GEMINI_API_KEY, b: process.env.GOOGLE_GEMINI_BASE_URL };
    process.env.GOOGLE_API_KEY = 'google-key';
    process.env.GEMINI_API_KEY = 'gemini-key';
    process.env.GOOGLE_GEMINI_BASE_URL = `${server.url}/`;
    try {
      client = createGeminiClient();
      expect(client.baseUrl).toBe(server.url);
      await client.files.get('a');
      expect(server.seen[0]?.headers['x-goog-api-key']).toBe('google-key');
    } finally {
      for (const [k, v] of [['GOOGLE_API_KEY', saved.g], ['GEMINI_API_KEY', saved.m], ['GOOGLE_GEMINI_BASE_URL', saved.b]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  describe('quota refusals (429 on create)', () => {
    // The body the service answers past the enqueued-token quota (PROTOCOL.md, Quotas).
    const quotaBody = (quotaValue: string, extra: unknown[] = [], message = 'You exceeded your current quota.') => ({
      error: {
        code: 429,
        message,
        status: 'RESOURCE_EXHAUSTED',
        details: [
          {
            '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
            violations: [
              {
                quotaMetric: 'generativelanguage.googleapis.com/batch_enqueued_tokens',
                quotaId: 'BatchEnqueuedTokensPerModelPerProject',
                quotaDimensions: { location: 'global', model: 'gemini-2.5-flash' },
                quotaValue,
              },
            ],
          },
          ...extra,
        ],
      },
    });

    it('exposes the violated quota, its limit as a number, and RetryInfo as retryAfterMs', async () => {
      server = await startServer((_req, res) => sendJson(res, 429, quotaBody('3000000', [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '23s' }])));
      client = createGeminiClient({ baseUrl: server.url, apiKey: KEY });
      const err = (await client.batches.create({ model: 'gemini-2.5-flash', fileName: 'files/a' }).catch((e: unknown) => e)) as GeminiApiError;
      expect(err).toBeInstanceOf(GeminiApiError);
      expect(err).toMatchObject({
        code: 'ERR_GEMINI_HTTP',
        httpStatus: 429,
        status: 'RESOURCE_EXHAUSTED',
        retryAfterMs: 23_000,
        quota: { metric: 'generativelanguage.googleapis.com/batch_enqueued_tokens', id: 'BatchEnqueuedTokensPerModelPerProject', model: 'gemini-2.5-flash', location: 'global', limit: 3_000_000 },
      });
      expect(err.noAccess).toBe(false);
      // A quota refusal at create goes straight to the caller, who owns the quota policy: one request.
      expect(server.seen.length).toBe(1);
    });

    it('reads "Please retry in 47.88s" from the message when there is no RetryInfo', async () => {
      server = await startServer((_req, res) => sendJson(res, 429, quotaBody('3000000', [], 'Quota exceeded. Please retry in 47.88s.')));
      client = createGeminiClient({ baseUrl: server.url, apiKey: KEY });
      const err = await client.batches.create({ model: 'm', fileName: 'files/a' }).catch((e: unknown) => e);
      expect(err).toMatchObject({ retryAfterMs: 47_880, quota: { limit: 3_000_000 } });
    });

    it('a Retry-After header wins over RetryInfo and the message', async () => {
      server = await startServer((_req, res) =>
        sendJson(res, 429, quotaBody('5', [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '23s' }], 'Please retry in 47s.'), { 'retry-after': '7' }),
      );
      client = createGeminiClient({ baseUrl: server.url, apiKey: KEY });
      const err = await client.batches.create({ model: 'm', fileName: 'files/a' }).catch((e: unknown) => e);
      expect(err).toMatchObject({ retryAfterMs: 7_000, quota: { limit: 5 } });
    });

    it('a limit of "0" means no Batch access: noAccess, not retryable, even on an idempotent call', async () => {
      server = await startServer((_req, res) => sendJson(res, 429, quotaBody('0')));
      client = createGeminiClient({ baseUrl: server.url, apiKey: KEY, retry: { initialDelayMs: 1, maxDelayMs: 2 } });
      const err = (await client.batches.get('b').catch((e: unknown) => e)) as GeminiApiError;
      expect(err).toMatchObject({ httpStatus: 429, retryable: false, quota: { limit: 0 } });
      expect(err.noAccess).toBe(true);
      expect(server.seen.length).toBe(1);
    });

    it('a plain 429 (no QuotaFailure) is still retried on create, with the hint as the wait', async () => {
      let n = 0;
      server = await startServer((_req, res) => {
        if (++n === 1) return sendJson(res, 429, { error: { code: 429, message: 'Resource has been exhausted. Please retry in 0.01s.', status: 'RESOURCE_EXHAUSTED' } });
        sendJson(res, 200, { name: 'batches/x', metadata: { state: 'BATCH_STATE_PENDING' } });
      });
      const delays: number[] = [];
      client = createGeminiClient({ baseUrl: server.url, apiKey: KEY, onRetry: (e) => delays.push(e.delayMs) });
      await expect(client.batches.create({ model: 'm', fileName: 'files/a' })).resolves.toMatchObject({ name: 'batches/x' });
      expect(delays).toEqual([10]);
      expect(n).toBe(2);
    });

    it('malformed details are skipped, never fatal', async () => {
      server = await startServer((_req, res) =>
        sendJson(res, 429, {
          error: {
            code: 429,
            status: 'RESOURCE_EXHAUSTED',
            message: 'x',
            details: [null, 'str', { '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations: [null, { quotaValue: 'lots' }] }, { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: 'soon' }],
          },
        }),
      );
      client = createGeminiClient({ baseUrl: server.url, apiKey: KEY, retry: { maxAttempts: 1 } });
      const err = (await client.batches.get('b').catch((e: unknown) => e)) as GeminiApiError;
      expect(err).toMatchObject({ httpStatus: 429, status: 'RESOURCE_EXHAUSTED', retryable: true, retryAfterMs: undefined, quota: undefined });
      expect(err.quotaViolations).toEqual([]);
    });
  });
});
