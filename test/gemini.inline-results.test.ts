/**
 * The byte-level splitter of an Operation document: every item comes out as
 * one result line whatever the chunking, the whitespace or the escapes; the
 * rest parses to the operation without its inline arrays; keys are counted.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGeminiClient } from '../src/backends/gemini/client.js';
import { inlineItemToLine } from '../src/backends/gemini/inline-item.js';
import { splitOperation } from '../src/backends/gemini/inline-results.js';
import type { GeminiClient } from '../src/backends/gemini/types.js';
import { sendJson, startServer } from './gemini.helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'api-inline-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Feed `text` in pieces of the given sizes (cycled). */
function chunked(text: string, sizes: number[]): Readable {
  const buf = Buffer.from(text);
  const parts: Buffer[] = [];
  for (let i = 0, k = 0; i < buf.length; k++) {
    const n = Math.max(1, sizes[k % sizes.length] ?? 1);
    parts.push(buf.subarray(i, i + n));
    i += n;
  }
  return Readable.from(parts, { objectMode: false });
}

/** What a line must say, from the parsed item (the pre-byte-level semantics). */
function expectedLine(item: unknown): unknown {
  const o = (item && typeof item === 'object' && !Array.isArray(item) ? item : {}) as Record<string, unknown>;
  const md = (o.metadata && typeof o.metadata === 'object' ? o.metadata : {}) as Record<string, unknown>;
  const key = typeof md.key === 'string' ? md.key : typeof o.key === 'string' ? o.key : null;
  if (o.error !== undefined) return { key, error: o.error };
  if (o.response === undefined && o.status !== undefined) return { key, error: o.status };
  return { key, response: o.response ?? null };
}

let n = 0;
async function split(text: string, sizes: number[] = [65536]) {
  const out = join(dir, `r${n++}.jsonl`);
  const res = await splitOperation(chunked(text, sizes), out);
  const lines = existsSync(out) ? (await readFile(out, 'utf8')).split('\n') : [''];
  expect(lines.pop()).toBe('');
  return { ...res, lines, out };
}

const nasty = fc.oneof(
  fc.string(),
  fc.constantFrom('a"b', 'back\\slash', '\\', '\\"', '"', 'ünï\u2028cödé 漢字', '\n\r\t', 'x\\\\"y', '{"not":"json"}', '], [', '}'),
);
/** A double the wire can carry: -0 is written as 0 by JSON, so it never reaches a client as -0. */
const wireDouble = fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0));
const jsonValue = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, nasty, fc.integer(), wireDouble, fc.boolean(), fc.constant(null), tie('arr'), tie('obj')),
  arr: fc.array(tie('value'), { maxLength: 4 }),
  obj: fc.dictionary(nasty, tie('value'), { maxKeys: 4 }),
})).value;
const item = fc.record(
  {
    response: jsonValue,
    error: fc.record({ code: fc.integer(), message: nasty }),
    status: fc.record({ code: fc.integer() }),
    metadata: fc.oneof(fc.record({ key: nasty }), fc.record({ other: nasty }), fc.constant(null)),
    key: nasty,
    extra: jsonValue,
  },
  { requiredKeys: [] },
);

describe('splitOperation', () => {
  it('property: lines and rest are right for any chunking, spacing and escapes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(item, { maxLength: 6 }),
        fc.boolean(),
        fc.boolean(),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 5 }),
        fc.option(fc.array(jsonValue, { maxLength: 3 }), { nil: undefined }),
        async (items, pretty, underResponse, sizes, echoed) => {
          const doc = {
            name: 'batches/x',
            metadata: {
              state: 'BATCH_STATE_SUCCEEDED',
              'we"ird': ['\\', { inlinedResponses: [1, 2] }],
              ...(echoed ? { inputConfig: { requests: { requests: echoed } } } : {}),
              ...(underResponse ? {} : { output: { inlinedResponses: { inlinedResponses: items } } }),
            },
            done: true,
            response: { '@type': 't', inlinedResponses: { inlinedResponses: items } },
          };
          const r = await split(JSON.stringify(doc, null, pretty ? 2 : undefined), sizes);
          expect(r.lines.map((l) => JSON.parse(l))).toEqual(items.map(expectedLine));
          expect(r.count).toBe(items.length);
          expect(r.keyed + r.keyless).toBe(items.length);
          expect(r.keyed).toBe(items.filter((i) => (expectedLine(i) as { key: unknown }).key !== null).length);
          const want = JSON.parse(JSON.stringify(doc)) as typeof doc & { metadata: Record<string, unknown> };
          if (want.metadata.output) delete (want.metadata as { output: { inlinedResponses: Record<string, unknown> } }).output.inlinedResponses.inlinedResponses;
          delete (want.response.inlinedResponses as Record<string, unknown>).inlinedResponses;
          if (echoed) delete (want.metadata as { inputConfig: { requests: Record<string, unknown> } }).inputConfig.requests.requests;
          expect(r.rest).toEqual(want);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('an item split across chunks at every byte lands whole', async () => {
    const items = [{ response: { text: 'a\\"b\u00e9' }, metadata: { key: '0:k' } }, { error: { code: 13, message: 'x' }, metadata: { key: '1:k' } }];
    const text = JSON.stringify({ name: 'b', metadata: { output: { inlinedResponses: { inlinedResponses: items } } } });
    for (const size of [1, 2, 3, 7]) {
      const r = await split(text, [size]);
      expect(r.lines).toEqual(['{"key":"0:k","response":{"text":"a\\\\\\"bé"}}', '{"key":"1:k","error":{"code":13,"message":"x"}}']);
    }
  });

  it('response bytes are copied as they came (no re-serialisation), made one line', async () => {
    const text = '{"name":"b","done":true,"response":{"inlinedResponses":{"inlinedResponses":[\n  {"response": {"n": 1.50, "t": "x"},\n   "metadata": {"key": "k"}}\n]}}}';
    const r = await split(text);
    expect(r.lines).toEqual(['{"key":"k","response":{"n": 1.50, "t": "x"}}']);
  });

  it('no inline array: no file, count undefined', async () => {
    const r = await split(JSON.stringify({ name: 'b', metadata: { output: { responsesFile: 'files/batch-x' } } }));
    expect(r.count).toBeUndefined();
    expect(existsSync(r.out)).toBe(false);
    expect(r.rest).toEqual({ name: 'b', metadata: { output: { responsesFile: 'files/batch-x' } } });
  });

  it('a truncated document rejects and leaves no file', async () => {
    const out = join(dir, 'trunc.jsonl');
    const text = JSON.stringify({ name: 'b', metadata: { output: { inlinedResponses: { inlinedResponses: [{ response: {} }] } } } });
    await expect(splitOperation(chunked(text.slice(0, -3), [5]), out)).rejects.toThrow();
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.part-${process.pid}`)).toBe(false);
  });

  it('inlineItemToLine keeps its object form', () => {
    expect(inlineItemToLine({ response: { a: 1 }, metadata: { key: 'k' } })).toBe('{"key":"k","response":{"a":1}}');
    expect(inlineItemToLine({ status: { code: 5 } })).toBe('{"key":null,"error":{"code":5}}');
    expect(inlineItemToLine(null)).toBe('{"key":null,"response":null}');
  });
});

describe('inline keys over the wire (getToFile / waitForBatch)', () => {
  const keyless = (n: number) => Array.from({ length: n }, (_, i) => ({ response: { text: `answer ${i}` } }));
  const opDoc = (items: unknown[]) => ({ name: 'batches/b', done: true, metadata: { state: 'BATCH_STATE_SUCCEEDED', output: { inlinedResponses: { inlinedResponses: items } } } });

  async function withServer<T>(items: unknown[], fn: (c: GeminiClient) => Promise<T>): Promise<T> {
    const server = await startServer((_req, res) => sendJson(res, 200, opDoc(items)));
    const client = createGeminiClient({ baseUrl: server.url, apiKey: 'k' });
    try {
      return await fn(client);
    } finally {
      await client.close();
      await server.close();
    }
  }
  const linesOf = async (p: string) => (await readFile(p, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { key: string | null; response: { text: string } });

  it('no item has a key: the lines keep key null and say so (keying by position is the backend\'s one inline keying)', async () => {
    const out = join(dir, 'pos.jsonl');
    const op = await withServer(keyless(3), (c) => c.batches.waitForBatch('b', { inlineResultsPath: out }));
    expect(op.inlineKeys).toEqual({ keying: 'unmatched', keyed: 0, keyless: 3 });
    expect((await linesOf(out)).map((l) => [l.key, l.response.text])).toEqual([
      [null, 'answer 0'],
      [null, 'answer 1'],
      [null, 'answer 2'],
    ]);
  });

  it('some items keyed, some not: the keyed keep theirs, the rest null', async () => {
    const out = join(dir, 'mixed.jsonl');
    const items = [{ response: { text: 'a' }, metadata: { key: '0:user-0' } }, ...keyless(2)];
    const op = await withServer(items, (c) => c.batches.getToFile('b', out));
    expect(op.inlineKeys).toEqual({ keying: 'unmatched', keyed: 1, keyless: 2 });
    expect((await linesOf(out)).map((l) => l.key)).toEqual(['0:user-0', null, null]);
  });

  it('all keyed: keys', async () => {
    const out = join(dir, 'keyed.jsonl');
    const items = [{ response: { text: 'a' }, metadata: { key: '1:b' } }, { response: { text: 'b' }, metadata: { key: '0:a' } }];
    expect((await withServer(items, (c) => c.batches.getToFile('b', out))).inlineKeys).toEqual({ keying: 'keys', keyed: 2, keyless: 0 });
    expect((await linesOf(out)).map((l) => l.key)).toEqual(['1:b', '0:a']);
  });

  it('lines far larger than a read (image answers) come through whole', async () => {
    const out = join(dir, 'big.jsonl');
    const big = 'A'.repeat(300_000);
    const items = [{ response: { text: big } }, { response: { text: `${big}B` } }];
    await withServer(items, (c) => c.batches.getToFile('b', out));
    expect((await linesOf(out)).map((l) => [l.key, l.response.text.length])).toEqual([
      [null, 300_000],
      [null, 300_001],
    ]);
  });
});

describe('embedding batches', () => {
  it('reads inline output under inlinedEmbedContentResponses, as the official SDK does', async () => {
    const items = [{ response: { embedding: { values: [0.1, 0.2] } }, metadata: { key: '0:a' } }];
    const doc = { name: 'batches/e', done: true, metadata: { state: 'BATCH_STATE_SUCCEEDED', output: { inlinedEmbedContentResponses: { inlinedResponses: items } } } };
    const r = await split(JSON.stringify(doc), [7]);
    expect(r.lines).toEqual(['{"key":"0:a","response":{"embedding":{"values":[0.1,0.2]}}}']);
    expect(r.count).toBe(1);
    expect(r.rest).toEqual({ ...doc, metadata: { ...doc.metadata, output: { inlinedEmbedContentResponses: {} } } });
  });
});
