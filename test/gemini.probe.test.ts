/** probeService: what one cheap call says about an endpoint, over real sockets, within its deadline. */
import { afterEach, describe, expect, it } from 'vitest';
import { createGeminiClient } from '../src/backends/gemini/client.js';
import type { GeminiClient } from '../src/backends/gemini/types.js';
import { probeService } from '../src/index.js';
import { apiError, sendJson, startServer, type TestServer } from './gemini.helpers.js';

let server: TestServer | undefined;
let client: GeminiClient | undefined;
afterEach(async () => {
  await client?.close();
  await server?.close();
  client = server = undefined;
});

async function probeAgainst(handler: Parameters<typeof startServer>[0], deadlineMs = 3_000) {
  server = await startServer(handler);
  client = createGeminiClient({ baseUrl: server.url, apiKey: 'k', retry: { maxAttempts: 2, initialDelayMs: 5, maxDelayMs: 10 } });
  return probeService(client, { deadlineMs });
}

describe('probeService', () => {
  it('a list that answers is ok, and asks for one item only', async () => {
    await expect(probeAgainst((_req, res) => sendJson(res, 200, {}))).resolves.toEqual({ ok: true });
    expect(server!.seen.map((s) => s.url)).toEqual(['/v1beta/batches?pageSize=1']);
  });

  it.each([
    [403, 'PERMISSION_DENIED', 'access'],
    [401, 'UNAUTHENTICATED', 'key'],
    [404, 'NOT_FOUND', 'not-api'],
  ])('%i %s is the verdict %s', async (status, name, problem) => {
    const v = await probeAgainst((_req, res) => apiError(res, status, name, 'no'));
    expect(v).toMatchObject({ ok: false, problem, error: { httpStatus: status } });
  });

  it('a busy service (429, 503) is not a verdict: the run\'s own retries deal with it', async () => {
    await expect(probeAgainst((_req, res) => apiError(res, 503, 'UNAVAILABLE', 'busy'))).resolves.toEqual({ ok: true });
    await server!.close();
    await client!.close();
    await expect(probeAgainst((_req, res) => apiError(res, 429, 'RESOURCE_EXHAUSTED', 'slow'))).resolves.toEqual({ ok: true });
  });

  it('a host that accepts and never answers is unreachable once the deadline passes', async () => {
    const t0 = Date.now();
    const v = await probeAgainst(() => new Promise<void>(() => undefined), 300);
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(v).toMatchObject({ ok: false, problem: 'unreachable', error: { message: 'no answer within 0.3 s' } });
  });
});
