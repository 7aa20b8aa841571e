/**
 * wire.fastRequestLine: the usual request line goes through on its bytes, and
 * whatever path a raw line takes, stage 1's answer is the one parsing gives.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fastRequestLine } from '../src/internal/wire/request-line-fast.js';
import { serializeRequestLine } from '../src/internal/wire/wire-key.js';
import { RequestLineMaker, SourceLine } from '../src/stages/to-request-line.js';

const FIELDS = ['contents', 'generationConfig', 'generation_config', 'systemInstruction', 'tools', 'labels', 'store', 'temperature', 'config', 'contents '];
const text = fc.string({ unit: fc.constantFrom('a', ' ', '"', '\\', '東', 'é', '\n', '\t', '\u0001', '}', '{'), maxLength: 12 });
const request = fc
  .record({
    contents: fc.oneof(fc.array(fc.record({ role: fc.constant('user'), parts: fc.array(fc.record({ text }), { maxLength: 2 }) }), { maxLength: 2 }), text),
    extra: fc.dictionary(fc.constantFrom(...FIELDS), fc.oneof(text, fc.integer(), fc.constant({}), fc.constant([1])), { maxKeys: 2 }),
  })
  .map(({ contents, extra }) => ({ contents, ...extra }));
const record = fc.record({ key: fc.option(text, { nil: undefined }), request }, { requiredKeys: ['request'] });

/** A line as a user may write it: compact or spaced, sometimes damaged. */
const rawLine = fc
  .tuple(record, fc.constantFrom(0, 1, 2), fc.nat(), fc.constantFrom('none', 'none', 'none', 'delete', 'insert'), fc.constantFrom('"', ',', '}', '1', ' ', '\\'))
  .map(([rec, style, at, damage, ch]) => {
    let s = style === 0 ? JSON.stringify(rec) : style === 1 ? JSON.stringify(rec, null, 1).replace(/\n/g, '') : JSON.stringify({ request: rec.request, key: rec.key });
    const i = at % Math.max(1, s.length);
    if (damage === 'delete') s = s.slice(0, i) + s.slice(i + 1);
    if (damage === 'insert') s = s.slice(0, i) + ch + s.slice(i);
    return s;
  });

/** What parsing the line says stage 1 must answer: the wire line, or that it is invalid. */
function expected(raw: string, seq: number): Buffer | 'invalid' | 'sdk-shape' {
  let rec: { key?: unknown; request?: Record<string, unknown> };
  try {
    rec = JSON.parse(raw);
  } catch {
    return 'invalid';
  }
  if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) return 'invalid';
  if (rec.key !== undefined && typeof rec.key !== 'string') return 'invalid';
  const r = rec.request;
  if (!r || typeof r !== 'object' || Array.isArray(r)) return 'invalid';
  if ('config' in r) return 'sdk-shape'; // translated by checkRequest (its own test compares with the SDK)
  const known = new Set(['contents', 'generationConfig', 'generation_config', 'systemInstruction', 'tools', 'labels', 'store']);
  if (Object.keys(r).some((k) => !known.has(k))) return 'invalid';
  if ('generationConfig' in r && 'generation_config' in r) return 'invalid';
  if (!Array.isArray(r.contents) || r.contents.length === 0) return 'invalid';
  return serializeRequestLine(seq, (rec.key as string | undefined) ?? String(seq), r);
}

describe('fastRequestLine and the parsing path', () => {
  it('answer what parsing says, for any line, damaged or not', () => {
    const maker = new RequestLineMaker({ onInvalid: 'emit' });
    fc.assert(
      fc.property(rawLine, fc.nat(1e6), (raw, seq) => {
        const want = expected(raw, seq);
        const got = maker.make(new SourceLine(Buffer.from(raw), 1), seq);
        if (want === 'sdk-shape') {
          expect(fastRequestLine(Buffer.from(raw), seq)).toBeUndefined();
        } else if (want === 'invalid') {
          expect(got.invalid, raw).toBeDefined();
          expect(fastRequestLine(Buffer.from(raw), seq)).toBeUndefined();
        } else {
          expect(got.invalid?.message, raw).toBeUndefined();
          expect(JSON.parse(got.line!.toString())).toEqual(JSON.parse(want.toString()));
          expect(got.line!.subarray(-1).toString()).toBe('\n');
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('takes the usual line without parsing, bytes kept', () => {
    const line = Buffer.from('{"key":"k1","request":{"contents":[{"role":"user","parts":[{"text":"東京 \\"q\\""}]}],"generationConfig":{"temperature":0.2}}}');
    expect(fastRequestLine(line, 7)).toEqual({ key: 'k1', line: Buffer.from(`{"key":"7:${line.toString().slice(8)}\n`), fields: new Set(['contents', 'generationConfig']), tailed: false });
    // Member names come back canonical: a backend's codec asks about them without a search.
    expect([...fastRequestLine(Buffer.from('{"key":"a","request":{"contents":[1],"cached_content":"c","labels":{}}}'), 0)!.fields]).toEqual(['contents', 'cachedContent', 'labels']);
    expect(fastRequestLine(Buffer.from('{"request":{"contents":[{"parts":[]}]}}  '), 3)?.line.toString()).toBe('{"key":"3:3","request":{"contents":[{"parts":[]}]}}\n');
  });

  it('leaves to parsing: escaped keys, images, unknown fields, empty contents, trailing garbage', () => {
    for (const l of [
      '{"key":"a\\"b","request":{"contents":[1]}}',
      '{"key":"a","request":{"contents":[1],"generationConfig":{"responseModalities":["IMAGE"]}}}',
      '{"key":"a","request":{"contents":[1],"thinking_config":{}}}',
      '{"key":"a","request":{"contents":[]}}',
      '{"key":"a","request":{"contents":[1]}}}',
      '{"key":"a","request":{"contents":[1]},"x":1}',
      '{"key":"a","request":{"contents":[1],"contents":[2]}}',
    ]) {
      expect(fastRequestLine(Buffer.from(l), 0), l).toBeUndefined();
    }
  });
});
