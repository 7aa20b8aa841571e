/** sizeChunker's core: chunks are cut on the exact bytes sent, never past a limit. */
import { describe, expect, it, afterAll } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChunkBuilder } from '../src/stages/size-chunker.js';
import { inlineRequestsJson } from '../src/internal/wire/inline-body.js';
import { inlineEnvelopeBytes, inlineItemBytes, lineToInlineItem, readLineKey, serializeRequestLine } from '../src/internal/wire/wire-line.js';
import { RequestLineMaker } from '../src/stages/to-request-line.js';
import type { Chunk, RequestLine } from '../src/types.js';

const dir = mkdtempSync(join(tmpdir(), 'gb-chunker-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function chunkAll(lines: RequestLine[], opts: ConstructorParameters<typeof ChunkBuilder>[0]): Promise<Chunk[]> {
  const b = new ChunkBuilder(opts);
  const out: Chunk[] = [];
  for (const l of lines) out.push(...(await b.add(l)));
  const last = await b.flush();
  if (last) out.push(last);
  return out;
}

const line = (seq: number, text: string): RequestLine => {
  const key = `k${seq}`;
  return { seq, key, line: serializeRequestLine(seq, key, { contents: [{ parts: [{ text }] }] }) };
};

describe('wire lines', () => {
  it('inlineItemBytes is exact for any key and text', () => {
    fc.assert(
      fc.property(fc.nat(1e9), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (seq, key, text) => {
        const l = serializeRequestLine(seq, key, { contents: [{ parts: [{ text }] }] });
        const item = lineToInlineItem(l);
        expect(item.length + 1).toBe(inlineItemBytes(l.length));
        const parsed = JSON.parse(item.toString()) as { request: unknown; metadata: { key: string } };
        expect(parsed.metadata.key).toBe(`${seq}:${key}`);
        expect(parsed.request).toEqual({ contents: [{ parts: [{ text }] }] });
        expect(readLineKey(l)).toMatchObject({ seq, userKey: key });
      }),
    );
  });
});

describe('ChunkBuilder', () => {
  it('never passes the file byte limit and covers every seq once, in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ unit: 'grapheme', maxLength: 60 }), { minLength: 1, maxLength: 80 }),
        fc.integer({ min: 200, max: 2000 }),
        fc.integer({ min: 1, max: 30 }),
        async (texts, maxFileBytes, maxRequestsPerBatch) => {
          const lines = texts.map((t, i) => line(i, t)).filter((l) => l.line!.length <= maxFileBytes);
          lines.forEach((l, i) => (l.seq = i));
          const fixed = lines.map((l) => line(l.seq, JSON.parse(l.line!.toString()).request.contents[0].parts[0].text));
          const chunks = await chunkAll(fixed, { dir, mode: 'file', maxFileBytes, maxRequestsPerBatch });
          let seq = 0;
          for (const c of chunks) {
            expect(c.firstSeq).toBe(seq);
            seq += c.count;
            expect(c.bytes).toBeLessThanOrEqual(maxFileBytes);
            expect(c.count).toBeLessThanOrEqual(maxRequestsPerBatch);
            expect(statSync(c.spoolPath).size).toBe(c.bytes);
          }
          expect(seq).toBe(fixed.length);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('measures inline chunks on the whole create body', async () => {
    const lines = Array.from({ length: 200 }, (_, i) => line(i, 'ü'.repeat(i % 50)));
    const maxInlineBytes = 4000;
    const chunks = await chunkAll(lines, { dir, mode: 'inline', maxInlineBytes });
    expect(chunks.length).toBeGreaterThan(3);
    for (const c of chunks) {
      const requests = await inlineRequestsJson(c.spoolPath);
      const body = Buffer.byteLength(`{"batch":{"displayName":"${'x'.repeat(64)}","inputConfig":{"requests":{"requests":`) + requests.length + 4;
      expect(body).toBeLessThanOrEqual(maxInlineBytes);
      expect(c.inlineBytes).toBeGreaterThanOrEqual(requests.length);
      JSON.parse(requests.toString());
    }
    expect(inlineEnvelopeBytes()).toBeGreaterThan(60);
  });

  it('refuses a single record over the limit with ERR_RECORD_TOO_LARGE naming seq and key', async () => {
    const b = new ChunkBuilder({ dir, mode: 'file', maxFileBytes: 100 });
    await b.add(line(0, 'short'));
    expect(() => b.add(line(1, 'x'.repeat(200)))).toThrowError(/record 1 \(key "k1"\): the request is \d+ bytes serialised, over the 100-byte file limit/);
    try {
      void b.add(line(1, 'x'.repeat(200)));
    } catch (err) {
      expect((err as { code: string }).code).toBe('ERR_RECORD_TOO_LARGE');
    }
    await b.abandon();
  });

  it('in auto mode sends a chunk inline only when its body fits', async () => {
    const small = await chunkAll([line(0, 'a'), line(1, 'b')], { dir, mode: 'auto' });
    expect(small.map((c) => c.mode)).toEqual(['inline']);
    const big = await chunkAll(Array.from({ length: 40 }, (_, i) => line(i, 'x'.repeat(100))), { dir, mode: 'auto', maxInlineBytes: 1000 });
    expect(big.map((c) => c.mode)).toEqual(['file']);
  });

  it('keeps the spool bytes equal to the serialised lines (sha256 of exact bytes)', async () => {
    const lines = Array.from({ length: 10 }, (_, i) => line(i, `𝄞 ${i}`));
    const [c] = await chunkAll(lines, { dir, mode: 'file' });
    expect(readFileSync(c!.spoolPath)).toEqual(Buffer.concat(lines.map((l) => l.line!)));
  });
});

describe('RequestLineMaker', () => {
  const maker = new RequestLineMaker({ lineNumbers: true });
  it.each([
    [{ key: 'a' }, /^line 4 \(key "a"\): missing "request" \(a line is \{"key": \.\.\., "request": \{\.\.\.\}\}\)$/],
    [{ key: 'b', request: 'hi' }, /^line 4 \(key "b"\): "request" must be an object, got string "hi"$/],
    [{ key: 'c', request: {} }, /^line 4 \(key "c"\): request\.contents/],
    [{ key: 'd', request: { contents: [] } }, /^line 4 \(key "d"\): request\.contents is empty$/],
    [{ key: { x: 1 }, request: { contents: [{}] } }, /^line 4: key must be a string or a number, got an object$/],
    [[1, 2], /^line 4: expected an object \{key, request\}, got an array$/],
  ])('explains %j', (record, message) => {
    expect(() => maker.make(record as never, 3)).toThrowError(message);
  });

  it('emits an error result instead with onInvalid: emit', () => {
    const m = new RequestLineMaker({ onInvalid: 'emit' });
    expect(m.make({ key: 'z' } as never, 5)).toEqual({
      seq: 5,
      key: 'z',
      invalid: { code: 400, status: 'INVALID_RECORD', message: 'record 5 (key "z"): missing "request" (a line is {"key": ..., "request": {...}})' },
    });
  });
});

describe('RequestLineMaker with raw JSONL lines', () => {
  it('sends the same bytes as serialising the parsed record, however the line is written', () => {
    const maker = new RequestLineMaker({});
    fc.assert(
      fc.property(
        fc.nat(1e6),
        fc.option(fc.string({ unit: 'grapheme' }), { nil: undefined }),
        fc.string({ unit: 'grapheme' }),
        fc.constantFrom(0, 2),
        fc.constantFrom('', '\r', '  '),
        (seq, key, text, indent, tail) => {
          const request = { contents: [{ role: 'user', parts: [{ text }] }] };
          const rec = key === undefined ? { request } : { key, request };
          const raw = JSON.stringify(rec, null, indent || undefined).replace(/\n/g, ' ') + tail;
          const asString = maker.make(raw as never, seq);
          const asBuffer = maker.make(Buffer.from(raw) as never, seq);
          const expected = serializeRequestLine(seq, key ?? String(seq), request);
          expect(asString.line).toEqual(expected);
          expect(asBuffer.line).toEqual(expected);
          expect(asBuffer.key).toBe(key ?? String(seq));
        },
      ),
    );
  });

  it('names a line that is not JSON', () => {
    const maker = new RequestLineMaker({ lineNumbers: true });
    expect(() => maker.make(Buffer.from('{"key": nope}') as never, 9)).toThrowError(/^line 10: not valid JSON: /);
  });
});

describe('ChunkBuilder maxBatchTokens', () => {
  it('never puts more estimated tokens in a chunk than maxBatchTokens (a lone request over it gets its own chunk), and sums them', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 500 }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 100, max: 1000 }),
        async (tokens, maxBatchTokens) => {
          const lines = tokens.map((t, i) => ({ ...line(i, 'x'), estimatedTokens: t }));
          const chunks = await chunkAll(lines, { dir, mode: 'file', maxBatchTokens });
          let seq = 0;
          for (const c of chunks) {
            const own = tokens.slice(c.firstSeq, c.firstSeq + c.count);
            expect(c.firstSeq).toBe(seq);
            expect(c.estimatedTokens).toBe(own.reduce((a, b) => a + b, 0));
            if (c.count > 1) expect(c.estimatedTokens).toBeLessThanOrEqual(maxBatchTokens);
            // Greedy: the next request would not have fitted.
            const next = tokens[c.firstSeq + c.count];
            if (next !== undefined) expect(c.estimatedTokens! + next).toBeGreaterThan(maxBatchTokens);
            seq += c.count;
          }
          expect(seq).toBe(tokens.length);
        },
      ),
      { numRuns: 40 },
    );
  });
});
