/** wire.isJson: the byte validator accepts exactly what JSON.parse accepts. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isJson } from '../src/internal/wire/json-validate.js';

const parses = (s: string) => {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
};

/** A JSON text with a random edit: a byte inserted, removed or replaced. */
const mutated = fc
  .tuple(fc.json({ depthSize: 'small' }), fc.nat(), fc.constantFrom('insert', 'delete', 'replace'), fc.constantFrom('"', '\\', '{', '}', '[', ']', ',', ':', '0', '-', '.', 'e', '+', ' ', '\t', '\n', '\u0001', 'u', 'a', 't', 'n', 'f', '1'))
  .map(([text, at, op, ch]) => {
    const i = text.length === 0 ? 0 : at % text.length;
    if (op === 'insert') return text.slice(0, i) + ch + text.slice(i);
    if (op === 'delete') return text.slice(0, i) + text.slice(i + 1);
    return text.slice(0, i) + ch + text.slice(i + 1);
  });

describe('isJson', () => {
  it('accepts every JSON text', () => {
    fc.assert(fc.property(fc.json(), fc.constantFrom('', ' ', '\n', '\r\n\t'), (text, pad) => void expect(isJson(Buffer.from(pad + text + pad))).toBe(true)));
  });

  it('agrees with JSON.parse on damaged texts', () => {
    fc.assert(fc.property(mutated, (text) => void expect(isJson(Buffer.from(text)), text).toBe(parses(text))), { numRuns: 3000 });
  });

  it('judges numbers, escapes and literals by the grammar', () => {
    for (const t of ['-0', '1e5', '1E+5', '0.5e-3', '"\\u00e9"', '"\\/"', 'true', 'null', '[]', '{}', '{"a":[1,{"b":null}]}', '"東"']) expect(isJson(Buffer.from(t)), t).toBe(true);
    for (const t of ['01', '1.', '.5', '+1', '1e', '-', '"\\x"', '"\\u12"', '"a\tb"', 'tru', 'nul', '[1,]', '{"a":1,}', '{a:1}', "'a'", '', ' ', '1 2', '{"a"}', 'NaN']) expect(isJson(Buffer.from(t)), t).toBe(false);
  });

  it('leaves very deep nesting to JSON.parse', () => {
    expect(isJson(Buffer.from('['.repeat(300) + ']'.repeat(300)))).toBeUndefined();
    expect(isJson(Buffer.from('['.repeat(100) + ']'.repeat(100)))).toBe(true);
  });
});

describe('isJson on a part of a buffer', () => {
  it('judges only the range given', () => {
    const b = Buffer.from('xx[1,2.5]yy 12.5');
    expect(isJson(b, 2, 9)).toBe(true);
    expect(isJson(b, 12, 14)).toBe(true); // "12" of "12.5"
    expect(isJson(b, 2, 8)).toBe(false);
  });
});
