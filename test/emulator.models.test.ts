/**
 * The emulator answers as the service does about models and job counts:
 * unknown and retired models are 404 NOT_FOUND (unless anyModel / --any-model),
 * embeddings have the model's real size, and a running or cancelled job shows
 * only the answers it has worked through. Plain HTTP over loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../src/emulator/index.js';
import { call, jsonl, spawnEmulator, uploadOnce, waitDone, type Operation } from './emulator.helpers.js';

let emu: RunningEmulator;
beforeAll(async () => {
  emu = await startEmulator({ port: 0, pendingMs: 0, runningMs: 10 });
});
afterAll(() => emu.close());

const inline = (requests: unknown[]) => JSON.stringify({ batch: { displayName: 'j', inputConfig: { requests: { requests } } } });
const generateItem = { request: { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }, metadata: { key: 'a' } };
const embedItem = (extra: Record<string, unknown> = {}) => ({ request: { content: { parts: [{ text: 'hi' }] }, ...extra }, metadata: { key: 'a' } });
const create = (base: string, model: string, method: 'batchGenerateContent' | 'asyncBatchEmbedContent', body: string) =>
  call('POST', `${base}/v1beta/models/${model}:${method}`, { headers: { 'content-type': 'application/json' }, body });

describe('models', () => {
  it.each([
    ['a made-up name', 'gemini-x', 'batchGenerateContent'],
    ['a retired model (gemini-2.0-*)', 'gemini-2.0-flash', 'batchGenerateContent'],
    ['a retired embedding model', 'text-embedding-004', 'asyncBatchEmbedContent'],
    ['an embedding model asked to generate', 'gemini-embedding-001', 'batchGenerateContent'],
    ['a generation model asked to embed', 'gemini-2.5-flash', 'asyncBatchEmbedContent'],
  ] as const)('%s is answered 404 NOT_FOUND', async (_what, model, method) => {
    const r = await create(emu.url, model, method, inline([method === 'batchGenerateContent' ? generateItem : embedItem()]));
    expect(r.status).toBe(404);
    const err = r.json().error as { status: string; message: string };
    expect(err.status).toBe('NOT_FOUND');
    expect(err.message).toContain(`models/${model} is not found`);
  });

  it.each(['gemini-2.5-flash', 'gemini-2.5-flash-lite', 'gemini-3-flash-preview', 'gemini-2.5-flash-preview-09-2025'])('%s is served', async (model) => {
    const r = await create(emu.url, model, 'batchGenerateContent', inline([generateItem]));
    expect(r.status).toBe(200);
  });

  it('anyModel accepts any name', async () => {
    const any = await startEmulator({ port: 0, pendingMs: 0, runningMs: 10, anyModel: true });
    try {
      expect((await create(any.url, 'gemini-x', 'batchGenerateContent', inline([generateItem]))).status).toBe(200);
    } finally {
      await any.close();
    }
  });

  it('`gemini-batch emulator --any-model` accepts any name; without it, 404', async () => {
    for (const [flags, status] of [[['--any-model'], 200], [[], 404]] as const) {
      const { url, child } = await spawnEmulator([...flags]);
      try {
        expect((await create(url, 'some-model', 'batchGenerateContent', inline([generateItem]))).status).toBe(status);
      } finally {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    }
  });
});

describe('embeddings', () => {
  async function embedding(model: string, extra: Record<string, unknown> = {}): Promise<number[]> {
    const r = await create(emu.url, model, 'asyncBatchEmbedContent', inline([embedItem(extra)]));
    expect(r.status).toBe(200);
    const op = await waitDone(emu.url, (r.json() as { name: string }).name);
    const out = op.metadata.output!.inlinedResponses!.inlinedResponses[0] as { response: { embedding: { values: number[] } } };
    return out.response.embedding.values;
  }

  it('gemini-embedding-001 has 3072 dimensions, of unit length', async () => {
    const v = await embedding('gemini-embedding-001');
    expect(v).toHaveLength(3072);
    expect(Math.sqrt(v.reduce((s, x) => s + x * x, 0))).toBeCloseTo(1, 3);
  });

  it('honours outputDimensionality, up to the model size', async () => {
    expect(await embedding('gemini-embedding-001', { outputDimensionality: 768 })).toHaveLength(768);
    expect(await embedding('gemini-embedding-2', { outputDimensionality: 100_000 })).toHaveLength(3072);
  });
});

describe('batch stats', () => {
  const stats = (op: Operation) => op.metadata.batchStats ?? {};

  it('a running job shows its answers as it works through them, not all at once', async () => {
    const slow = await startEmulator({ port: 0, pendingMs: 0, runningMs: 5000 });
    try {
      const file = await uploadOnce(slow.url, Buffer.from(jsonl(100)));
      const r = await create(slow.url, 'gemini-2.5-flash', 'batchGenerateContent', JSON.stringify({ batch: { displayName: 'j', inputConfig: { fileName: file } } }));
      const name = (r.json() as { name: string }).name;
      const seen: Array<Record<string, string>> = [];
      for (;;) {
        const op = (await call('GET', `${slow.url}/v1beta/${name}`)).json() as unknown as Operation;
        if (op.done) break;
        if (op.metadata.state === 'BATCH_STATE_RUNNING') seen.push(stats(op));
        await new Promise((res) => setTimeout(res, 200));
      }
      const done = (n: Record<string, string>) => Number(n.successfulRequestCount ?? 0) + Number(n.failedRequestCount ?? 0);
      expect(seen.length).toBeGreaterThan(3);
      // Early on most requests are pending; the count only grows.
      expect(done(seen[0]!)).toBeLessThan(50);
      expect(Number(seen[0]!.pendingRequestCount)).toBeGreaterThan(50);
      for (let i = 1; i < seen.length; i++) expect(done(seen[i]!)).toBeGreaterThanOrEqual(done(seen[i - 1]!));
      const end = stats(await waitDone(slow.url, name));
      expect(end).toEqual({ requestCount: '100', successfulRequestCount: '100' });
    } finally {
      await slow.close();
    }
  });

  it('a job cancelled mid-run does not report every request as succeeded', async () => {
    const slow = await startEmulator({ port: 0, pendingMs: 0, runningMs: 10_000 });
    try {
      const file = await uploadOnce(slow.url, Buffer.from(jsonl(100)));
      const r = await create(slow.url, 'gemini-2.5-flash', 'batchGenerateContent', JSON.stringify({ batch: { displayName: 'j', inputConfig: { fileName: file } } }));
      const name = (r.json() as { name: string }).name;
      await new Promise((res) => setTimeout(res, 1000));
      expect((await call('POST', `${slow.url}/v1beta/${name}:cancel`, { headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(200);
      const op = await waitDone(slow.url, name);
      expect(op.metadata.state).toBe('BATCH_STATE_CANCELLED');
      const ok = Number(stats(op).successfulRequestCount ?? 0);
      expect(ok).toBeLessThan(100);
      // And it stays what it was when cancelled.
      await new Promise((res) => setTimeout(res, 300));
      expect(stats((await call('GET', `${slow.url}/v1beta/${name}`)).json() as unknown as Operation)).toEqual(stats(op));
    } finally {
      await slow.close();
    }
  });
});
