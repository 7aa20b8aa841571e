/**
 * Every retry loop of the client is bounded by `retry` and ends in one error
 * that names the call and how long it tried; every wait reaches onRetry with
 * the route and the time spent, so a caller can show "unreachable for 6 s".
 * Real sockets: a port nobody listens on, a server answering 503 for ever.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createGeminiClient } from '../src/backends/gemini/client.js';
import { GeminiApiError } from '../src/backends/gemini/errors.js';
import type { GeminiClient } from '../src/backends/gemini/types.js';
import { apiError, readBody, startServer, type TestServer } from './gemini.helpers.js';

/** A loopback port that was free a moment ago and that nobody listens on. */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

let client: GeminiClient | undefined;
let server: TestServer | undefined;
afterEach(async () => {
  await client?.close();
  await server?.close();
  client = server = undefined;
});

const retry = { maxAttempts: 4, initialDelayMs: 20, maxDelayMs: 40 };

describe('bounded retries with one clear error', () => {
  it.each([
    ['batches.list', (c: GeminiClient) => c.batches.list()[Symbol.asyncIterator]().next(), 'GET /v1beta/batches'],
    ['batches.get', (c: GeminiClient) => c.batches.get('batches/x'), 'GET /v1beta/batches/x'],
    ['batches.cancel', (c: GeminiClient) => c.batches.cancel('batches/x'), 'POST /v1beta/batches/x:cancel'],
    ['files.download', (c: GeminiClient) => c.files.download('files/x'), 'GET /v1beta/files/x:download'],
    ['batches.findByDisplayName', (c: GeminiClient) => c.batches.findByDisplayName('run-1', { windowMs: 200, initialDelayMs: 20, maxDelayMs: 40 }), 'GET /v1beta/batches'],
  ])('%s against a port nobody listens on fails within the bounds, naming the call', async (_name, call, route) => {
    const port = await deadPort();
    const waits: { route?: string; elapsedMs?: number }[] = [];
    client = createGeminiClient({ baseUrl: `http://127.0.0.1:${port}`, apiKey: 'k', retry, onRetry: (e) => waits.push(e as { route?: string; elapsedMs?: number }) });
    const t0 = Date.now();
    const err = await call(client).catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(err).toBeInstanceOf(GeminiApiError);
    expect((err as GeminiApiError).errno).toBe('ECONNREFUSED');
    expect((err as Error).message).toContain(`on ${route}`);
    expect((err as Error).message).toMatch(/gave up after 4 attempts over \d+\.\d s\)$/);
    // Each wait was announced, with what it was for and how long it has been going on.
    expect(waits.length).toBeGreaterThanOrEqual(3);
    expect(waits[0]).toMatchObject({ route, elapsedMs: expect.any(Number) });
  });

  it('a create answering 503 for ever is not retried blindly (it may have landed): one ambiguous error at once', async () => {
    server = await startServer((_req, res) => apiError(res, 503, 'UNAVAILABLE', 'busy'));
    client = createGeminiClient({ baseUrl: server.url, apiKey: 'k', retry });
    const err = await client.batches.create({ model: 'm', fileName: 'files/f', displayName: 'd' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ httpStatus: 503, ambiguous: true });
    expect(server.seen).toHaveLength(1);
  });

  it('a get answering 503 for ever stops at maxAttempts with the count and time in its message', async () => {
    server = await startServer((_req, res) => apiError(res, 503, 'UNAVAILABLE', 'busy'));
    client = createGeminiClient({ baseUrl: server.url, apiKey: 'k', retry });
    const err = await client.batches.get('batches/x').catch((e: unknown) => e);
    expect(server.seen).toHaveLength(4);
    expect((err as Error).message).toMatch(/^Gemini API 503 UNAVAILABLE on GET \/v1beta\/batches\/x: busy \(gave up after 4 attempts over/);
    expect(err).toMatchObject({ httpStatus: 503, status: 'UNAVAILABLE', retryable: true });
  });

  it('maxElapsedMs bounds the loop too, whatever maxAttempts says', async () => {
    server = await startServer((_req, res) => apiError(res, 503, 'UNAVAILABLE', 'busy'));
    client = createGeminiClient({ baseUrl: server.url, apiKey: 'k', retry: { maxAttempts: 1000, initialDelayMs: 50, maxDelayMs: 50, maxElapsedMs: 300 } });
    const t0 = Date.now();
    const err = await client.batches.get('batches/x').catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(1_500);
    expect((err as Error).message).toMatch(/gave up after \d+ attempts/);
    expect(server.seen.length).toBeLessThan(20);
  });

  it('an upload whose pieces the service keeps dropping (offset never moves) stops after maxAttempts pieces', async () => {
    server = await startServer(async (req, res) => {
      await readBody(req);
      if (req.headers['x-goog-upload-command'] === 'start') {
        res.writeHead(200, { 'x-goog-upload-url': `${server!.url}/session/1` }).end();
        return;
      }
      // Every piece is answered "active, 0 bytes kept".
      res.writeHead(200, { 'x-goog-upload-status': 'active', 'x-goog-upload-size-received': '0' }).end();
    });
    client = createGeminiClient({ baseUrl: server.url, apiKey: 'k', retry });
    const dir = await mkdtemp(join(tmpdir(), 'up-stall-'));
    try {
      const path = join(dir, 'f.jsonl');
      await writeFile(path, Buffer.alloc(600 * 1024, 0x61));
      const err = await client.files.upload(path, { chunkSize: 256 * 1024 }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ERR_UPLOAD' });
      expect((err as Error).message).toMatch(/made no progress past byte 0 of 614400 in 5 pieces in a row/);
      expect(server.seen.length).toBe(6); // start + 5 pieces
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
