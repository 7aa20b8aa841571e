/**
 * The client against the local emulator (src/emulator): the whole Files +
 * Batches surface over real HTTP, with the emulator's fault knobs.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGeminiClient } from '../src/backends/gemini/client.js';
import { GeminiApiError } from '../src/backends/gemini/errors.js';
import type { BatchState, GeminiClient, GeminiClientOptions, UploadProgress } from '../src/backends/gemini/types.js';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../src/emulator/index.js';

const MiB = 1024 * 1024;
const KEY = 'SECRET-KEY-123';

let dir: string;
let emu: RunningEmulator | undefined;
let client: GeminiClient | undefined;

// The service serves downloads of generated files only; these tests check the transport (streaming,
// ranges, retries) on the bytes they uploaded, so they let the emulator serve uploaded files too.
async function setup(emuOpts: EmulatorOptions = {}, clientOpts: GeminiClientOptions = {}): Promise<{ emu: RunningEmulator; client: GeminiClient }> {
  emu = await startEmulator({ port: 0, apiKey: KEY, pendingMs: 20, runningMs: 40, downloadUploadedFiles: true, ...emuOpts });
  client = createGeminiClient({ baseUrl: emu.url, apiKey: KEY, retry: { initialDelayMs: 2, maxDelayMs: 20, maxAttempts: 20 }, ...clientOpts });
  return { emu, client };
}

async function sha256OfStream(s: NodeJS.ReadableStream): Promise<{ hex: string; chunks: number; bytes: number }> {
  const h = createHash('sha256');
  let chunks = 0;
  let bytes = 0;
  for await (const c of s as AsyncIterable<Buffer>) {
    h.update(c);
    chunks++;
    bytes += c.length;
  }
  return { hex: h.digest('hex'), chunks, bytes };
}

async function sha256OfFile(path: string): Promise<string> {
  return (await sha256OfStream(createReadStream(path))).hex;
}

/** A JSONL requests file; the data is random, so it is not valid JSONL: fine for the Files API. */
async function randomFile(size: number): Promise<string> {
  const path = join(dir, `blob-${size}-${Math.random().toString(36).slice(2)}.bin`);
  await writeFile(path, randomBytes(size));
  return path;
}

function requestLines(n: number): string[] {
  return Array.from({ length: n }, (_, i) => JSON.stringify({ key: `${i}:k${i}`, request: { contents: [{ role: 'user', parts: [{ text: `hello ${i}` }] }] } }));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'api-client-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await client?.close();
  await emu?.close();
  client = undefined;
  emu = undefined;
});

describe('files against the emulator', () => {
  it('uploads 20 MiB in 8 MiB pieces; the stored bytes stream back identical', async () => {
    const { client } = await setup();
    const path = await randomFile(20 * MiB + 123);
    const progress: UploadProgress[] = [];
    const file = await client.files.upload(path, { displayName: 'big', onProgress: (p) => progress.push(p) });
    expect(file).toMatchObject({ displayName: 'big', sizeBytes: String(20 * MiB + 123), mimeType: 'application/jsonl' });
    expect(progress.map((p) => p.offset)).toEqual([8 * MiB, 16 * MiB, 20 * MiB + 123]);

    const body = await client.files.download(file.name);
    const got = await sha256OfStream(body);
    expect(got.hex).toBe(await sha256OfFile(path));
    expect(got.chunks).toBeGreaterThan(10); // streamed, not one buffer

    const out = join(dir, 'back.bin');
    expect(await client.files.downloadToFile(file.name, out)).toBe(20 * MiB + 123);
    expect(await sha256OfFile(out)).toBe(got.hex);

    expect(await client.files.get(file.name.slice('files/'.length))).toMatchObject({ name: file.name, state: 'ACTIVE' });
    const names: string[] = [];
    for await (const f of client.files.list({ pageSize: 1 })) names.push(f.name);
    expect(names).toContain(file.name);
    await client.files.delete(file.name);
    await expect(client.files.get(file.name)).rejects.toMatchObject({ httpStatus: 404, status: 'NOT_FOUND', code: 'ERR_GEMINI_HTTP' });
  });

  it('resumes after a cut connection from the offset the service holds, not from zero', async () => {
    const { client, emu } = await setup({ cutUploadAfterBytes: 3 * MiB, cutUploadEvery: 2 });
    const path = await randomFile(20 * MiB);
    let last: UploadProgress | undefined;
    const file = await client.files.upload(path, { onProgress: (p) => (last = p) });
    expect(emu.counters().uploadCuts).toBeGreaterThan(0);
    expect(await sha256OfStream(await client.files.download(file.name)).then((r) => r.hex)).toBe(await sha256OfFile(path));
    // Each cut costs at most one piece: far from re-sending the file from zero.
    expect(last?.bytesSent).toBeLessThanOrEqual(20 * MiB + (emu.counters().uploadCuts ?? 0) * 8 * MiB);
    expect(last?.bytesSent).toBeLessThan(2 * 20 * MiB);
  });

  it('an empty file uploads and downloads as zero bytes', async () => {
    const { client } = await setup();
    const path = join(dir, 'empty.jsonl');
    await writeFile(path, '');
    const file = await client.files.upload(path);
    expect(file.sizeBytes ?? '0').toBe('0');
    expect((await sha256OfStream(await client.files.download(file.name))).bytes).toBe(0);
  });

  it('rides out 503/500/429 storms on every files route', async () => {
    const { client, emu } = await setup({ errorRates: { upload: 0.3, files: 0.3, download: 0.3 }, seed: 7 });
    const path = await randomFile(3 * MiB + 5);
    const file = await client.files.upload(path, { chunkSize: MiB });
    expect((await client.files.get(file.name)).name).toBe(file.name);
    const out = join(dir, 'storm.bin');
    await client.files.downloadToFile(file.name, out);
    expect(await sha256OfFile(out)).toBe(await sha256OfFile(path));
    expect(emu.counters().injectedErrors).toBeGreaterThan(0);
  });

  it('a wrong key: 400 INVALID_ARGUMENT / API_KEY_INVALID, and neither key anywhere in the error', async () => {
    const { emu } = await setup();
    const wrong = 'WRONG-KEY-456';
    const c = createGeminiClient({ baseUrl: emu.url, apiKey: wrong });
    try {
      const err = await c.files.get('files/abc').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GeminiApiError);
      expect(err).toMatchObject({ httpStatus: 400, status: 'INVALID_ARGUMENT', code: 'ERR_GEMINI_HTTP', reason: 'API_KEY_INVALID', route: 'GET /v1beta/files/abc', retryable: false });
      const e = err as GeminiApiError;
      const all = [e.message, e.stack, JSON.stringify(e), String(e.cause)].join('\n');
      expect(all).not.toContain(KEY);
      expect(all).not.toContain(wrong);
    } finally {
      await c.close();
    }
  });
});

describe('batches against the emulator', () => {
  it('file mode: create, wait (states normalised, reported on change), download the responses', async () => {
    const { client } = await setup();
    const path = join(dir, 'req.jsonl');
    await writeFile(path, `${requestLines(25).join('\n')}\n`);
    const input = await client.files.upload(path, { displayName: 'req' });
    const created = await client.batches.create({ model: 'gemini-2.5-flash', displayName: 'run-a-0', fileName: input.name });
    expect(created).toMatchObject({ displayName: 'run-a-0', model: 'models/gemini-2.5-flash', done: false });
    expect(['PENDING', 'RUNNING']).toContain(created.state);

    const states: BatchState[] = [];
    const done = await client.batches.waitForBatch(created.name, { pollInterval: { initialMs: 10, maxMs: 30 }, onState: (o) => states.push(o.state) });
    expect(done).toMatchObject({ state: 'SUCCEEDED', done: true });
    expect(done.responsesFile).toMatch(/^files\/batch-/);
    expect(states.at(-1)).toBe('SUCCEEDED');
    expect(new Set(states).size).toBe(states.length); // only changes are reported

    const out = join(dir, 'responses.jsonl');
    await client.files.downloadToFile(done.responsesFile ?? '', out);
    const lines = (await readFile(out, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { key: string; response?: unknown });
    expect(lines.map((l) => l.key).sort()).toEqual(requestLines(25).map((l) => (JSON.parse(l) as { key: string }).key).sort());
    expect(lines.every((l) => l.response !== undefined)).toBe(true);

    const found: string[] = [];
    for await (const op of client.batches.list({ pageSize: 1 })) if (op.displayName === 'run-a-0') found.push(op.name);
    expect(found).toEqual([created.name]);
  });

  it('inline mode: waitForBatch streams the inline responses to a JSONL file', async () => {
    const { client } = await setup();
    const items = Array.from({ length: 40 }, (_, i) => `{"request":{"contents":[{"parts":[{"text":"q${i}"}]}]},"metadata":{"key":"${i}:k"}}`);
    const op = await client.batches.create({ model: 'gemini-2.5-flash', displayName: 'inline-1', inlineRequestsJson: `[${items.join(',')}]` });
    const out = join(dir, 'inline.jsonl');
    const done = await client.batches.waitForBatch(op.name, { inlineResultsPath: out, pollInterval: { initialMs: 10, maxMs: 30 } });
    expect(done).toMatchObject({ state: 'SUCCEEDED', inlinedResponseCount: 40 });
    const lines = (await readFile(out, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { key: string; response?: unknown });
    expect(lines.length).toBe(40);
    expect(new Set(lines.map((l) => l.key))).toEqual(new Set(items.map((_, i) => `${i}:k`)));
  });

  it('embeddings go to :asyncBatchEmbedContent', async () => {
    const { client, emu } = await setup();
    const op = await client.batches.create({
      model: 'gemini-embedding-001',
      task: 'embed',
      displayName: 'emb',
      inlineRequestsJson: '[{"request":{"content":{"parts":[{"text":"x"}]}},"metadata":{"key":"e1"}}]',
    });
    const out = join(dir, 'emb.jsonl');
    const done = await client.batches.waitForBatch(op.name, { inlineResultsPath: out, pollInterval: { initialMs: 10, maxMs: 30 } });
    expect(done.state).toBe('SUCCEEDED');
    const line = JSON.parse((await readFile(out, 'utf8')).trim()) as { key: string; response: { embedding?: unknown } };
    expect(line.key).toBe('e1');
    expect(line.response.embedding).toBeDefined();
    expect(emu.counters().requestsByRoute.create).toBe(1);
  });

  it('cancel, delete and NOT_FOUND', async () => {
    const { client } = await setup({ pendingMs: 60_000 });
    const op = await client.batches.create({ model: 'gemini-2.5-flash', displayName: 'c', inlineRequestsJson: '[{"request":{"contents":[{"parts":[{"text":"x"}]}]},"metadata":{"key":"a"}}]' });
    await client.batches.cancel(op.name);
    const done = await client.batches.waitForBatch(op.name, { pollInterval: { initialMs: 10, maxMs: 30 } });
    expect(done.state).toBe('CANCELLED');
    await client.batches.delete(op.name);
    await expect(client.batches.get(op.name)).rejects.toMatchObject({ httpStatus: 404, status: 'NOT_FOUND', code: 'ERR_GEMINI_HTTP', retryable: false });
  });

  it('polls through 503 storms on get', async () => {
    const { client, emu } = await setup({ errorRates: { get: 0.4, create: 0 }, seed: 3 });
    const op = await client.batches.create({ model: 'gemini-2.5-flash', displayName: 's', inlineRequestsJson: '[{"request":{"contents":[{"parts":[{"text":"x"}]}]},"metadata":{"key":"a"}}]' });
    const done = await client.batches.waitForBatch(op.name, { pollInterval: { initialMs: 10, maxMs: 30 } });
    expect(done.state).toBe('SUCCEEDED');
    expect(emu.counters().injectedErrors).toBeGreaterThan(0);
  });

  it('an ambiguous create is reported, not repeated; the job is found by displayName', async () => {
    const { client, emu } = await setup({ ambiguousCreateRate: 1 });
    const err = await client.batches
      .create({ model: 'gemini-2.5-flash', displayName: 'run-x-3', inlineRequestsJson: '[{"request":{"contents":[{"parts":[{"text":"x"}]}]},"metadata":{"key":"a"}}]' })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ httpStatus: 503, status: 'UNAVAILABLE', ambiguous: true });
    expect(emu.counters().createsByDisplayName['run-x-3']).toBe(1);
    const found: string[] = [];
    for await (const op of client.batches.list()) if (op.displayName === 'run-x-3') found.push(op.name);
    expect(found.length).toBe(1);
  });
});
