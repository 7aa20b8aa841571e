/**
 * The official @google/genai SDK, unchanged, against the emulator: if the
 * SDK accepts our wire format, so will code written for the real service.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiError, GoogleGenAI, type BatchJob } from '@google/genai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startEmulator, type RunningEmulator } from '../src/emulator/index.js';
import { jsonl } from './emulator.helpers.js';

const KEY = 'test-key';
let emu: RunningEmulator;
let ai: GoogleGenAI;
let dir: string;

beforeAll(async () => {
  emu = await startEmulator({ port: 0, apiKey: KEY, pendingMs: 20, runningMs: 40 });
  ai = new GoogleGenAI({ apiKey: KEY, httpOptions: { baseUrl: emu.url } });
  dir = mkdtempSync(join(tmpdir(), 'emu-sdk-'));
  // createEmbeddings() warns that it is experimental on every call.
  vi.spyOn(console, 'warn').mockImplementation(() => {});
});

afterAll(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

async function untilDone(job: BatchJob): Promise<BatchJob> {
  const terminal = ['JOB_STATE_SUCCEEDED', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED', 'JOB_STATE_EXPIRED'];
  let j = job;
  while (!terminal.includes(String(j.state))) {
    await new Promise((r) => setTimeout(r, 20));
    j = await ai.batches.get({ name: j.name! });
  }
  return j;
}

const N = 12_000; // ~9.4 MB with the padding below: two 8 MiB pieces

describe('official SDK against the emulator', () => {
  let uploadedName = '';

  it('uploads a JSONL over 8 MiB in several resumable pieces', async () => {
    const path = join(dir, 'in.jsonl');
    writeFileSync(path, jsonl(N, (i) => `prompt ${i} ${'x'.repeat(700)}`));
    const before = emu.counters();
    const f = await ai.files.upload({ file: path, config: { mimeType: 'application/jsonl', displayName: 'big input' } });
    expect(f.name).toMatch(/^files\/[a-z0-9]{12}$/);
    expect(Number(f.sizeBytes)).toBeGreaterThan(8 * 1024 * 1024);
    expect(f).toMatchObject({ displayName: 'big input', mimeType: 'application/jsonl', state: 'ACTIVE', source: 'UPLOADED' });
    const after = emu.counters();
    // start + 2 pieces
    expect(after.requestsByRoute.upload! - (before.requestsByRoute.upload ?? 0)).toBe(3);
    expect(after.uploadsFinalized).toBe(before.uploadsFinalized + 1);
    uploadedName = f.name!;

    const got = await ai.files.get({ name: uploadedName });
    expect(got.sizeBytes).toBe(f.sizeBytes);
    expect(got.sha256Hash).toBe(f.sha256Hash);
  });

  it('runs a file batch to JOB_STATE_SUCCEEDED and returns every key once', async () => {
    const job = await ai.batches.create({ model: 'gemini-2.5-flash', src: uploadedName, config: { displayName: 'sdk-file' } });
    expect(job.state).toBe('JOB_STATE_PENDING');
    const done = await untilDone(job);
    expect(done.state).toBe('JOB_STATE_SUCCEEDED');
    const out = done.dest?.fileName;
    expect(out).toBe(`files/batch-${job.name!.slice('batches/'.length)}`);

    const outPath = join(dir, 'out.jsonl');
    await ai.files.download({ file: out!, downloadPath: outPath });
    const lines = readFileSync(outPath, 'utf8').trim().split('\n');
    const keys = new Set<string>();
    for (const l of lines) {
      const r = JSON.parse(l) as { key: string; response: { candidates: { content: { parts: { text: string }[] } }[] } };
      expect(keys.has(r.key)).toBe(false);
      keys.add(r.key);
      expect(r.response.candidates[0]!.content.parts[0]!.text).toMatch(/^echo: prompt \d+ x+ #[0-9a-f]{8}$/);
    }
    expect(keys.size).toBe(N);
    expect(emu.counters().createsByDisplayName['sdk-file']).toBe(1);
  });

  it('runs an inline batch and answers in metadata.output (dest.inlinedResponses)', async () => {
    const job = await ai.batches.create({
      model: 'gemini-2.5-flash',
      src: [
        { contents: [{ role: 'user', parts: [{ text: 'hello' }] }], metadata: { key: 'a' } },
        { contents: [{ role: 'user', parts: [{ text: 'world' }] }], metadata: { key: 'b' } },
      ],
      config: { displayName: 'sdk-inline' },
    });
    const done = await untilDone(job);
    expect(done.state).toBe('JOB_STATE_SUCCEEDED');
    const rs = done.dest?.inlinedResponses ?? [];
    expect(rs.map((r) => (r.metadata as { key: string }).key)).toEqual(['a', 'b']);
    const text = (i: number, list = rs): string | undefined => list[i]?.response?.candidates?.[0]?.content?.parts?.[0]?.text;
    expect(text(0)).toMatch(/^echo: hello #[0-9a-f]{8}$/);
    // Determinism: the same request gets the same answer.
    const again = await untilDone(
      await ai.batches.create({
        model: 'gemini-2.5-flash',
        src: [{ contents: [{ role: 'user', parts: [{ text: 'hello' }] }] }],
      }),
    );
    expect(text(0, again.dest?.inlinedResponses)).toBe(text(0));
  });

  it('runs embedding batches, inline and from a file', async () => {
    const inline = await untilDone(
      await ai.batches.createEmbeddings({
        model: 'gemini-embedding-001',
        src: { inlinedRequests: { contents: ['one', 'two', 'three'], config: { outputDimensionality: 5 } } },
      }),
    );
    expect(inline.state).toBe('JOB_STATE_SUCCEEDED');
    const embs = inline.dest?.inlinedEmbedContentResponses ?? [];
    expect(embs).toHaveLength(3);
    expect(embs[0]!.response?.embedding?.values).toHaveLength(5);

    const path = join(dir, 'embed.jsonl');
    writeFileSync(
      path,
      ['a', 'b'].map((t, i) => JSON.stringify({ key: `e${i}`, request: { content: { parts: [{ text: t }] } } })).join('\n'),
    );
    const f = await ai.files.upload({ file: path, config: { mimeType: 'application/jsonl' } });
    const fromFile = await untilDone(await ai.batches.createEmbeddings({ model: 'gemini-embedding-001', src: { fileName: f.name! } }));
    expect(fromFile.state).toBe('JOB_STATE_SUCCEEDED');
    const outPath = join(dir, 'embed-out.jsonl');
    await ai.files.download({ file: fromFile.dest!.fileName!, downloadPath: outPath });
    const rows = readFileSync(outPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { key: string; response: { embedding: { values: number[] } } });
    expect(rows.map((r) => r.key).sort()).toEqual(['e0', 'e1']);
    expect(rows[0]!.response.embedding.values).toHaveLength(3072);
  });

  it('lists batches page by page with the pager', async () => {
    const pager = await ai.batches.list({ config: { pageSize: 1 } });
    expect(pager.page).toHaveLength(1);
    const names: string[] = [];
    for await (const b of pager) names.push(b.name!);
    expect(names.length).toBeGreaterThanOrEqual(5);
    expect(new Set(names).size).toBe(names.length);
  });

  it('cancels a pending batch, deletes one, and answers 404 ApiError after', async () => {
    const job = await ai.batches.create({ model: 'gemini-2.5-flash', src: [{ contents: 'cancel me' }] });
    await ai.batches.cancel({ name: job.name! });
    const got = await ai.batches.get({ name: job.name! });
    expect(got.state).toBe('JOB_STATE_CANCELLED');
    expect(got.endTime).toBeDefined();

    await ai.batches.delete({ name: job.name! });
    const err = await ai.batches.get({ name: job.name! }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(404);
    expect(JSON.parse((err as ApiError).message)).toMatchObject({ error: { code: 404, status: 'NOT_FOUND' } });
  });

  it('lists and deletes files; an unknown file is a 404 ApiError', async () => {
    const pager = await ai.files.list({ config: { pageSize: 2 } });
    const names: string[] = [];
    for await (const f of pager) names.push(f.name!);
    expect(names).toContain(uploadedName);
    expect(names.some((n) => n.startsWith('files/batch-'))).toBe(true);

    await ai.files.delete({ name: uploadedName });
    const err = await ai.files.get({ name: uploadedName }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(404);
  });

  it('rejects a wrong API key with 400 API_KEY_INVALID', async () => {
    const bad = new GoogleGenAI({ apiKey: 'wrong', httpOptions: { baseUrl: emu.url } });
    const err = await bad.batches.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(400);
    expect((err as ApiError).message).toContain('API_KEY_INVALID');
    expect((err as ApiError).message).not.toContain('wrong');
  });
});
