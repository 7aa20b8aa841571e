/**
 * Batch states as the service and the SDKs spell them, states we have never
 * seen, and whether a finished operation carries its output yet.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createGeminiClient } from '../src/backends/gemini/client.js';
import { toBatchOperation } from '../src/backends/gemini/batches.js';
import { normalizeState } from '../src/backends/gemini/schemas.js';
import type { GeminiClient } from '../src/backends/gemini/types.js';
import { sendJson, startServer, type TestServer } from './gemini.helpers.js';

describe('normalizeState', () => {
  it.each([
    ['BATCH_STATE_PENDING', 'PENDING'],
    ['JOB_STATE_PENDING', 'PENDING'],
    ['JOB_STATE_QUEUED', 'PENDING'],
    ['BATCH_STATE_RUNNING', 'RUNNING'],
    ['JOB_STATE_CANCELLING', 'RUNNING'],
    ['JOB_STATE_PAUSED', 'RUNNING'],
    ['BATCH_STATE_SUCCEEDED', 'SUCCEEDED'],
    ['JOB_STATE_PARTIALLY_SUCCEEDED', 'SUCCEEDED'],
    ['BATCH_STATE_FAILED', 'FAILED'],
    ['JOB_STATE_CANCELED', 'CANCELLED'],
    ['BATCH_STATE_CANCELLED', 'CANCELLED'],
    ['BATCH_STATE_EXPIRED', 'EXPIRED'],
    ['BATCH_STATE_SOMETHING_FAILED_NEW', 'FAILED'],
    ['BATCH_STATE_UNSPECIFIED', 'UNSPECIFIED'],
    ['BATCH_STATE_BRAND_NEW', 'UNSPECIFIED'],
    ['', 'UNSPECIFIED'],
  ])('%s → %s', (wire, state) => expect(normalizeState(wire)).toBe(state));
});

describe('operations over the wire', () => {
  let server: TestServer | undefined;
  let client: GeminiClient | undefined;
  afterEach(async () => {
    await client?.close();
    await server?.close();
    client = undefined;
    server = undefined;
  });

  /** Serve a fixed operation per batch id. */
  async function serve(ops: Record<string, unknown>): Promise<GeminiClient> {
    server = await startServer((req, res) => {
      const id = /batches\/([^/?:]+)/.exec(req.url ?? '')?.[1] ?? '';
      sendJson(res, 200, ops[id] ?? {});
    });
    client = createGeminiClient({ baseUrl: server.url, apiKey: 'k' });
    return client;
  }
  const md = (state: string, output?: unknown) => ({ name: 'batches/x', state, ...(output ? { output } : {}) });

  it('done: true ends an operation whatever its state string; unknown states with output are used', async () => {
    const c = await serve({
      partial: { name: 'batches/partial', done: true, metadata: md('JOB_STATE_PARTIALLY_SUCCEEDED', { responsesFile: 'files/batch-p' }) },
      novel: { name: 'batches/novel', done: true, metadata: md('BATCH_STATE_BRAND_NEW', { responsesFile: 'files/batch-n' }) },
      novelErr: { name: 'batches/novelErr', done: true, metadata: md('BATCH_STATE_BRAND_NEW'), error: { code: 13, message: 'x' } },
      running: { name: 'batches/running', metadata: md('BATCH_STATE_BRAND_NEW') },
    });
    expect(await c.batches.get('partial')).toMatchObject({ state: 'SUCCEEDED', wireState: 'JOB_STATE_PARTIALLY_SUCCEEDED', done: true, hasOutput: true, outputPending: false });
    expect(await c.batches.get('novel')).toMatchObject({ state: 'SUCCEEDED', done: true, hasOutput: true, responsesFile: 'files/batch-n' });
    expect(await c.batches.get('novelErr')).toMatchObject({ state: 'FAILED', done: true, hasOutput: false });
    expect(await c.batches.get('running')).toMatchObject({ state: 'UNSPECIFIED', done: false, hasOutput: false, outputPending: false });
  });

  it('SUCCEEDED without output is flagged outputPending; with it, not', async () => {
    const c = await serve({
      bare: { name: 'batches/bare', metadata: md('BATCH_STATE_SUCCEEDED') },
      file: { name: 'batches/file', done: true, metadata: md('BATCH_STATE_SUCCEEDED', { responsesFile: 'files/batch-f' }) },
      inline: { name: 'batches/inline', done: true, metadata: md('BATCH_STATE_SUCCEEDED', { inlinedResponses: { inlinedResponses: [] } }) },
    });
    expect(await c.batches.get('bare')).toMatchObject({ state: 'SUCCEEDED', done: true, hasOutput: false, outputPending: true });
    expect(await c.batches.get('file')).toMatchObject({ hasOutput: true, outputPending: false });
    expect(await c.batches.get('inline')).toMatchObject({ hasOutput: true, outputPending: false, inlinedResponseCount: 0 });
  });

  it('FAILED, EXPIRED and CANCELLED batches expose their (partial) output too', async () => {
    const c = await serve({
      f: { name: 'batches/f', done: true, metadata: md('BATCH_STATE_FAILED', { responsesFile: 'files/batch-f' }) },
      e: { name: 'batches/e', done: true, metadata: md('BATCH_STATE_EXPIRED', { inlinedResponses: { inlinedResponses: [{ response: {} }] } }) },
      c: { name: 'batches/c', done: true, metadata: md('JOB_STATE_CANCELLED') },
    });
    expect(await c.batches.get('f')).toMatchObject({ state: 'FAILED', hasOutput: true, responsesFile: 'files/batch-f', outputPending: false });
    expect(await c.batches.get('e')).toMatchObject({ state: 'EXPIRED', hasOutput: true, inlinedResponseCount: 1 });
    expect(await c.batches.get('c')).toMatchObject({ state: 'CANCELLED', hasOutput: false, outputPending: false });
  });

  it('waitForBatch stops at a done operation with a state it does not know', async () => {
    let n = 0;
    server = await startServer((_req, res) => {
      n++;
      sendJson(res, 200, n < 3 ? { name: 'batches/x', metadata: md('BATCH_STATE_RUNNING') } : { name: 'batches/x', done: true, metadata: md('BATCH_STATE_WHATEVER_COMES_NEXT') });
    });
    client = createGeminiClient({ baseUrl: server.url, apiKey: 'k' });
    const op = await client.batches.waitForBatch('x', { pollInterval: { initialMs: 1, maxMs: 2 } });
    expect(op).toMatchObject({ done: true, state: 'SUCCEEDED', wireState: 'BATCH_STATE_WHATEVER_COMES_NEXT' });
    expect(n).toBe(3);
  });
});

describe('embedding output', () => {
  it('an embedding batch with inline output under inlinedEmbedContentResponses has output', async () => {
    const op = toBatchOperation({
      name: 'batches/e',
      done: true,
      metadata: { state: 'BATCH_STATE_SUCCEEDED', output: { inlinedEmbedContentResponses: { inlinedResponses: [{}, {}] } } },
    });
    expect(op).toMatchObject({ hasOutput: true, outputPending: false, inlinedResponseCount: 2 });
  });
});
