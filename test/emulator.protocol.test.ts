/**
 * The emulator's defaults are the real service's shapes (PROTOCOL.md), driven
 * over plain HTTP: key-last result lines with a varying field order, gRPC
 * per-request errors, nested usage, 36-char batch ids and 42-char output files
 * that refuse get/delete, strict request fields, delete without cancel,
 * 9-decimal batch times.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../src/emulator/index.js';
import { call, createFileBatch, jsonl, uploadOnce, waitDone, type Operation } from './emulator.helpers.js';

const running: RunningEmulator[] = [];
async function emulator(opts: EmulatorOptions = {}): Promise<RunningEmulator> {
  const e = await startEmulator({ port: 0, pendingMs: 5, runningMs: 10, ...opts });
  running.push(e);
  return e;
}
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.close()));
});

const json = { 'content-type': 'application/json' };
const createInline = (url: string, requests: unknown[]) =>
  call('POST', `${url}/v1beta/models/gemini-2.5-flash:batchGenerateContent`, {
    headers: json,
    body: JSON.stringify({ batch: { displayName: 'p', inputConfig: { requests: { requests } } } }),
  });

async function fileJob(url: string, body: string): Promise<{ op: Operation; raw: string[] }> {
  const name = await uploadOnce(url, Buffer.from(body));
  const c = await createFileBatch(url, name);
  expect(c.status).toBe(200);
  const op = await waitDone(url, (c.json() as { name: string }).name);
  const out = op.metadata.output?.responsesFile;
  if (!out) return { op, raw: [] };
  const r = await call('GET', `${url}/v1beta/${out}:download?alt=media`);
  expect(r.status).toBe(200);
  return { op, raw: r.text.split('\n').filter(Boolean) };
}

describe('result lines', () => {
  it('put the key last and vary the field order inside response', async () => {
    const e = await emulator();
    const { raw } = await fileJob(e.url, jsonl(40));
    expect(raw).toHaveLength(40);
    const orders = new Set<string>();
    for (const line of raw) {
      const row = JSON.parse(line) as Record<string, unknown>;
      expect(Object.keys(row)).toEqual(['response', 'key']);
      expect(line.endsWith(`"key":${JSON.stringify(row.key)}}`)).toBe(true);
      orders.add(Object.keys(row.response as object).join(','));
    }
    expect(orders.size).toBeGreaterThan(1);
  });

  it('carry nested usage: thoughts, cached tokens and prompt details', async () => {
    const e = await emulator();
    const line = (key: string, request: Record<string, unknown>): string => JSON.stringify({ key, request });
    const body = [
      line('plain', { contents: [{ parts: [{ text: 'abcdefgh' }] }] }),
      line('cached', { contents: [{ parts: [{ text: 'abcdefgh' }] }], cachedContent: 'cachedContents/c1' }),
      line('nothink', { contents: [{ parts: [{ text: 'abcdefgh' }] }], generationConfig: { thinkingConfig: { thinkingBudget: 0 } } }),
    ].join('\n');
    const { raw } = await fileJob(e.url, body);
    const by = new Map(raw.map((l) => JSON.parse(l) as { key: string; response: { usageMetadata: Record<string, unknown> } }).map((r) => [r.key, r.response.usageMetadata]));
    const plain = by.get('plain')!;
    expect(plain.promptTokenCount).toBe(2);
    expect(plain.thoughtsTokenCount).toEqual(expect.any(Number));
    expect(plain.cachedContentTokenCount).toBeUndefined();
    expect(plain.totalTokenCount).toBe((plain.promptTokenCount as number) + (plain.candidatesTokenCount as number) + (plain.thoughtsTokenCount as number));
    expect(plain.promptTokensDetails).toEqual([{ modality: 'TEXT', tokenCount: 2 }]);
    const cached = by.get('cached')!;
    expect(cached.cachedContentTokenCount).toBeGreaterThan(0);
    expect(cached.promptTokenCount).toBe(2 + (cached.cachedContentTokenCount as number));
    expect(by.get('nothink')!.thoughtsTokenCount).toBeUndefined();
  });

  it('refuse unknown request fields per line with gRPC 3 and the service wording, camelCase and snake_case accepted', async () => {
    const e = await emulator();
    const contents = [{ parts: [{ text: 'x' }] }];
    const body = [
      { key: 'sdk-shape', request: { contents, config: { temperature: 0.2 } } },
      { key: 'top-thinking', request: { contents, thinking_config: { thinkingBudget: 0 } } },
      { key: 'snake', request: { contents, system_instruction: { parts: [{ text: 's' }] }, generation_config: { temperature: 1 }, safety_settings: [] } },
      { key: 'camel', request: { contents, systemInstruction: { parts: [{ text: 's' }] }, toolConfig: {}, labels: { a: 'b' }, serviceTier: 'x', store: false } },
    ]
      .map((l) => JSON.stringify(l))
      .join('\n');
    const { op, raw } = await fileJob(e.url, body);
    expect(op.metadata.batchStats).toEqual({ requestCount: '4', successfulRequestCount: '2', failedRequestCount: '2' });
    const rows = new Map(raw.map((l) => JSON.parse(l) as { key: string; error?: unknown; response?: unknown }).map((r) => [r.key, r]));
    expect(rows.get('sdk-shape')!.error).toEqual({
      code: 3,
      message: `Invalid JSON payload received. Unknown name "config" at 'request': Cannot find field.`,
    });
    expect(rows.get('top-thinking')!.error).toMatchObject({ code: 3, message: expect.stringContaining('Unknown name "thinking_config"') });
    expect(rows.get('snake')!.response).toBeDefined();
    expect(rows.get('camel')!.response).toBeDefined();
  });

  it('echo extra top-level fields of an input line', async () => {
    const e = await emulator();
    const { raw } = await fileJob(e.url, JSON.stringify({ key: 'a', request: { contents: [{ parts: [{ text: 'x' }] }] }, trace: 7 }));
    expect(JSON.parse(raw[0]!)).toMatchObject({ key: 'a', trace: 7 });
    expect(Object.keys(JSON.parse(raw[0]!) as object).at(-1)).toBe('key');
  });
});

describe('inline creates', () => {
  it('refuse the whole create with 400 when any request has an unknown field', async () => {
    const e = await emulator();
    const r = await createInline(e.url, [
      { request: { contents: [{ parts: [{ text: 'ok' }] }] }, metadata: { key: 'a' } },
      { request: { contents: [{ parts: [{ text: 'x' }] }], config: { temperature: 0 } }, metadata: { key: 'b' } },
    ]);
    expect(r.status).toBe(400);
    const err = r.json().error as { code: number; status: string; message: string; details: { fieldViolations: unknown[] }[] };
    expect(err).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
    expect(err.message).toBe(
      `Invalid JSON payload received. Unknown name "config" at 'batch.input_config.requests.requests[1].request': Cannot find field.`,
    );
    expect(err.details[0]!.fieldViolations).toHaveLength(1);
    expect(e.counters().batchesCreated).toBe(0);
  });

  it('check generationConfig and the batch around the requests too', async () => {
    const e = await emulator();
    const contents = [{ parts: [{ text: 'x' }] }];
    // The SDK's config shape moved wholesale into generationConfig: systemInstruction does not belong there.
    const misplaced = await createInline(e.url, [{ request: { contents, generationConfig: { temperature: 0, systemInstruction: { parts: [] } } } }]);
    expect(misplaced.status).toBe(400);
    expect((misplaced.json().error as { message: string }).message).toBe(
      `Invalid JSON payload received. Unknown name "systemInstruction" at 'batch.input_config.requests.requests[0].request.generation_config': Cannot find field.`,
    );
    const fine = await createInline(e.url, [
      { request: { contents, generation_config: { temperature: 0, response_mime_type: 'application/json', thinkingConfig: { thinkingBudget: 0 } } } },
    ]);
    expect(fine.status).toBe(200);
    const batchLevel = await call('POST', `${e.url}/v1beta/models/gemini-2.5-flash:batchGenerateContent`, {
      headers: json,
      body: JSON.stringify({ batch: { displayName: 'x', config: {}, inputConfig: { requests: { requests: [{ request: { contents } }] } } } }),
    });
    expect(batchLevel.status).toBe(400);
    expect((batchLevel.json().error as { message: string }).message).toContain(`Unknown name "config" at 'batch'`);
    const { raw } = await fileJob(e.url, JSON.stringify({ key: 'g', request: { contents, generationConfig: { tools: [] } } }));
    expect(JSON.parse(raw[0]!)).toMatchObject({ key: 'g', error: { code: 3, message: expect.stringContaining(`Unknown name "tools" at 'request.generation_config'`) } });
  });

  it('check embedding requests against EmbedContentRequest', async () => {
    const e = await emulator();
    const r = await call('POST', `${e.url}/v1beta/models/gemini-embedding-001:asyncBatchEmbedContent`, {
      headers: json,
      body: JSON.stringify({
        batch: { inputConfig: { requests: { requests: [{ request: { content: { parts: [{ text: 'x' }] }, task_type: 'RETRIEVAL_DOCUMENT', dimensions: 3 } }] } } },
      }),
    });
    expect(r.status).toBe(400);
    expect(String((r.json().error as { message: string }).message)).toContain('Unknown name "dimensions"');
  });
});

describe('batches and files', () => {
  it('name batches with 36 chars, output files with 42 that refuse get and delete but download on both paths', async () => {
    const e = await emulator();
    const { op } = await fileJob(e.url, jsonl(3));
    expect(op.name).toMatch(/^batches\/[a-z0-9]{36}$/);
    const out = op.metadata.output!.responsesFile!;
    expect(out).toBe(`files/batch-${op.name.slice(8)}`);
    expect(out.length - 'files/'.length).toBe(42);
    for (const method of ['GET', 'DELETE']) {
      const r = await call(method, `${e.url}/v1beta/${out}`);
      expect(r.status).toBe(400);
      expect(r.json()).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT' } });
      expect(String((r.json().error as { message: string }).message)).toMatch(/File ID .* cannot be more than 40 characters/);
    }
    for (const path of [`/v1beta/${out}:download?alt=media`, `/download/v1beta/${out}:download?alt=media`]) {
      const r = await call('GET', `${e.url}${path}`);
      expect(r.status).toBe(200);
      expect(r.text.trim().split('\n')).toHaveLength(3);
    }
    const listed = (await call('GET', `${e.url}/v1beta/files`)).json().files as { name: string; downloadUri?: string; source: string }[];
    const gen = listed.find((f) => f.name === out)!;
    expect(gen.source).toBe('GENERATED');
    expect(gen.downloadUri).toContain(`${out}:download?alt=media`);
  });

  it('print batch times with 9 decimals and int64 counters as strings, zeros left out', async () => {
    const e = await emulator();
    const { op } = await fileJob(e.url, jsonl(2));
    const md = op.metadata as unknown as Record<string, string>;
    for (const k of ['createTime', 'updateTime', 'endTime']) expect(md[k]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    expect(op.metadata.batchStats).toEqual({ requestCount: '2', successfulRequestCount: '2' });
  });

  it('delete removes the record only: the job keeps running and still writes its output', async () => {
    const e = await emulator({ pendingMs: 50, runningMs: 50 });
    const name = await uploadOnce(e.url, Buffer.from(jsonl(2)));
    const op = (await createFileBatch(e.url, name)).json() as unknown as Operation;
    expect((await call('DELETE', `${e.url}/v1beta/${op.name}`)).json()).toEqual({});
    expect((await call('GET', `${e.url}/v1beta/${op.name}`)).status).toBe(404);
    expect((await call('GET', `${e.url}/v1beta/batches`)).json().operations).toBeUndefined();
    const out = `files/batch-${op.name.slice(8)}`;
    const deadline = Date.now() + 10_000;
    let r = await call('GET', `${e.url}/v1beta/${out}:download?alt=media`);
    while (r.status !== 200 && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 20));
      r = await call('GET', `${e.url}/v1beta/${out}:download?alt=media`);
    }
    expect(r.status).toBe(200);
    expect(r.text.trim().split('\n')).toHaveLength(2);
  });
});
