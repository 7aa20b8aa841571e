/**
 * The byte-level string skips agree with each other and with JSON itself:
 * whatever a string holds (quotes, runs of backslashes, \\u escapes, text
 * longer or shorter than skipString's byte-by-byte start), skipString and
 * stringEnd find the end JSON.stringify put there.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { skipString, stringEnd, valueEnd } from '../src/internal/wire/json-bytes.js';

const tricky = fc.string({ unit: fc.constantFrom('a', '"', '\\', 'é', '\n', '}', ' ', '€', '\u0001'), maxLength: 80 });

describe('skipString', () => {
  it('ends where JSON.stringify ended the string, at any length and position', () => {
    fc.assert(
      fc.property(tricky, fc.string({ maxLength: 5 }), fc.nat({ max: 40 }), (text, after, pad) => {
        const head = ' '.repeat(pad);
        const json = JSON.stringify(text);
        const buf = Buffer.from(`${head}${json}${JSON.stringify(after)}`);
        const want = Buffer.byteLength(head + json);
        expect(skipString(buf, pad)).toBe(want);
        expect(stringEnd(buf, pad).end).toBe(want);
      }),
      { numRuns: 2000 },
    );
  });

  it('says -1 when the buffer ends inside the string', () => {
    expect(skipString(Buffer.from('"abc'), 0)).toBe(-1);
    expect(skipString(Buffer.from(`"${'x'.repeat(40)}\\"`), 0)).toBe(-1);
    expect(skipString(Buffer.from(`"${'x'.repeat(30)}\\`), 0)).toBe(-1);
  });

  it('lets valueEnd step over objects whose strings hold brackets and quotes', () => {
    fc.assert(
      fc.property(fc.dictionary(tricky, fc.array(tricky, { maxLength: 3 }), { maxKeys: 4 }), (obj) => {
        const json = JSON.stringify(obj);
        expect(valueEnd(Buffer.from(`${json},"next":1}`), 0)).toBe(Buffer.byteLength(json));
      }),
      { numRuns: 500 },
    );
  });
});
