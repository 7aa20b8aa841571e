/**
 * Stage 1 on what users write: keys kept exactly as given (number keys beyond
 * 2^53 too), the service's per-request size checked before anything is
 * uploaded, every per-record problem covered by onInvalid 'emit', token
 * estimates and image-output flags on every line.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { openInput } from '../src/cli/input.js';
import { readJsonl } from '../src/cli/jsonl-reader.js';
import { InvalidInput, RequestLineMaker, SERVICE_MAX_REQUEST_BYTES, SourceLine, SourceValue } from '../src/stages/to-request-line.js';
import type { RequestLine } from '../src/types.js';

const request = { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] };
const src = (text: string, lineNo = 1) => new SourceLine(Buffer.from(text), lineNo);

async function readAll(text: string, maxLineChars?: number): Promise<Array<SourceLine | InvalidInput>> {
  const out: Array<SourceLine | InvalidInput> = [];
  for await (const r of readJsonl(Readable.from([Buffer.from(text)]), { name: 'in.jsonl', maxLineChars })) out.push(r as SourceLine | InvalidInput);
  return out;
}

describe('keys stay exactly as given', () => {
  it('a number key beyond 2^53 keeps its source text, first or last in the line', () => {
    const m = new RequestLineMaker({});
    const first = m.make(src(`{"key": 12345678901234567890, "request": ${JSON.stringify(request)}}`), 0);
    expect(first.key).toBe('12345678901234567890');
    expect(first.line!.toString()).toContain('"key":"0:12345678901234567890"');
    const last = m.make(src(`{"request": ${JSON.stringify(request)}, "key": 98765432109876543210}`), 1);
    expect(last.key).toBe('98765432109876543210');
    // Other number spellings are kept too.
    expect(m.make(src(`{"key": 1.50, "request": ${JSON.stringify(request)}}`), 2).key).toBe('1.50');
  });

  it('a JSON array input keeps an element\'s number key as written too, and nothing else changes', async () => {
    const stdin = new PassThrough();
    stdin.end(`[{"key": 12345678901234567890, "request": {"contents": [{"parts": [{"text": "a"}]}], "generationConfig": {"seed": 42, "temperature": 0.5}}},
      {"key": 7, "request": {"contents": [{"parts": [{"text": "b", "n": 12345678901234567890}]}]}}, {"key": 1.50, "request": {"contents": [1]}}]`);
    const input = await openInput('-', { stdin });
    const out: unknown[] = [];
    for await (const r of input.records) out.push(r);
    const m = new RequestLineMaker({});
    expect(out.map((r, i) => m.make(r as never, i).key)).toEqual(['12345678901234567890', '7', '1.50']);
    const values = out.map((r) => (r as SourceValue).value);
    expect((values[0] as { request: { generationConfig: unknown } }).request.generationConfig).toEqual({ seed: 42, temperature: 0.5 });
    // Only the element's own key is kept as text; numbers deeper stay numbers.
    expect((values[1] as { request: { contents: Array<{ parts: Array<{ n: unknown }> }> } }).request.contents[0]!.parts[0]!.n).toBe(12345678901234567890);
    // A bad element says how to go on, as a bad line does.
    expect(() => m.make(new SourceValue({ key: 'x' }, (out[0] as SourceValue).origin), 3)).toThrowError(/^record 3 \(key "x"\): missing "request".*--on-invalid emit/);
  });

  it('a number key beyond 2^53 whose text is not in the line (an object) is refused with the fix', () => {
    const m = new RequestLineMaker({ onInvalid: 'emit' });
    const r = m.make({ key: 12345678901234567890, request } as never, 4);
    expect(r.invalid?.message).toMatch(/^record 4: key 12345678901234567000 is a number beyond 2\^53.*write the key as a string/);
    expect(m.make({ key: 42, request } as never, 5).key).toBe('42');
  });
});

describe('limits checked up front', () => {
  it('a request line over the service\'s 20,000,000 bytes is an invalid record naming the limit, not a missing result', () => {
    const m = new RequestLineMaker({ onInvalid: 'emit' });
    const big = { contents: [{ parts: [{ text: 'x'.repeat(SERVICE_MAX_REQUEST_BYTES) }] }] };
    const r = m.make(src(JSON.stringify({ key: 'big', request: big }), 7), 0);
    expect(r.line).toBeUndefined();
    expect(r.invalid?.message).toMatch(/^line 7 \(key "big"\): the request is \d+ bytes serialised, over the service's limit of 20000000 bytes/);
  });

  it('an explicit maxLineBytes is the limit instead', () => {
    const m = new RequestLineMaker({ maxLineBytes: 50 });
    expect(() => m.make({ key: 'k', request }, 0)).toThrowError(/over the line limit of 50 bytes/);
    try {
      m.make({ key: 'k', request }, 0);
    } catch (err) {
      expect(err).toMatchObject({ code: 'ERR_RECORD_TOO_LARGE', seq: 0, key: 'k' });
    }
  });
});

describe("onInvalid 'emit' covers every per-record problem, each naming its physical line", () => {
  it('bad JSON, over-long line, unknown field, missing request, bad key, invalid UTF-8: one error result each, the run goes on', async () => {
    const good = JSON.stringify({ key: 'ok', request });
    const lines = [
      good,
      '',
      '{oops',
      `{"key":"long","request":{"contents":[{"parts":[{"text":"${'y'.repeat(400)}"}]}]}}`,
      JSON.stringify({ key: 'unk', request: { ...request, thinking_config: {} } }),
      JSON.stringify({ key: 'noreq', prompt: 'x' }),
      JSON.stringify({ key: [1], request }),
      good,
    ];
    const text = `${lines.join('\n')}\n`;
    const records = await readAll(text, 300);
    const bad = Buffer.concat([Buffer.from('{"key":"utf","request":{"contents":[{"parts":[{"text":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}]}]}}')]);
    records.push(new SourceLine(bad, 10));
    const m = new RequestLineMaker({ onInvalid: 'emit' });
    const out: RequestLine[] = records.map((r, i) => m.make(r, i));
    expect(out.map((r) => (r.invalid ? r.invalid.message.replace(/:.*$/s, '') : `ok ${r.key}`))).toEqual([
      'ok ok',
      'line 3',
      'line 4 (key "long")',
      'line 5 (key "unk")',
      'line 6 (key "noreq")',
      'line 7',
      'ok ok',
      'line 10',
    ]);
    expect(out[3]!.invalid!.message).toContain('request.thinking_config is not a field of the request');
    expect(out[7]!.invalid!.message).toContain('not valid UTF-8');
    for (const r of out) expect(r.invalid?.message ?? '').not.toMatch(/toRequest threw/);
  });

  it('a throwing toRequest is named in the user\'s words, not the library\'s', () => {
    const m = new RequestLineMaker<{ p: string }>({
      toRequest: () => {
        throw new Error('"prompt" must be a string');
      },
      onInvalid: 'emit',
    });
    const r = m.make(src('{"p": 1}', 3), 0);
    expect(r.invalid?.message).toBe('line 3: could not make a request of this record: "prompt" must be a string');
  });
});

describe('what each line carries for the chunker', () => {
  it('an estimatedTokens on every valid line, and imageOutput when the request asks for images', () => {
    const m = new RequestLineMaker({});
    const text = m.make({ key: 'a', request: { contents: [{ parts: [{ text: '東京'.repeat(100) }] }] } }, 0);
    expect(text.estimatedTokens).toBeGreaterThanOrEqual(200);
    expect(text.imageOutput).toBeUndefined();
    const image = m.make({ key: 'b', request: { contents: 'draw a cat', config: { responseModalities: ['TEXT', 'IMAGE'] } } } as never, 1);
    expect(image.imageOutput).toBe(true);
    // The SDK shape went on the wire translated.
    expect(JSON.parse(image.line!.toString()).request).toEqual({
      contents: [{ role: 'user', parts: [{ text: 'draw a cat' }] }],
      generationConfig: { responseModalities: ['TEXT', 'IMAGE'] },
    });
  });
});
