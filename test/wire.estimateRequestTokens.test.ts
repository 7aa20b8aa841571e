/** wire.estimateRequestTokens: cheap, and high rather than low. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { estimateRequestTokens } from '../src/internal/wire/token-estimate.js';
import { serializeRequestLine } from '../src/internal/wire/wire-key.js';

const line = (parts: unknown[]) => serializeRequestLine(1, 'k', { contents: [{ role: 'user', parts }] });
const cjk = fc.string({ unit: fc.integer({ min: 0x4e00, max: 0x9fff }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 400 });
const ascii = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 400 });

describe('estimateRequestTokens', () => {
  it('counts at least one token per CJK character', () => {
    fc.assert(fc.property(cjk, (text) => void expect(estimateRequestTokens(line([{ text }]))).toBeGreaterThanOrEqual(text.length)));
  });

  it('counts ASCII text at no less than 3 characters a token (English runs near 4)', () => {
    fc.assert(fc.property(ascii, (text) => void expect(estimateRequestTokens(line([{ text }]))).toBeGreaterThanOrEqual(Math.ceil(text.length / 3))));
  });

  it('grows with the text', () => {
    fc.assert(
      fc.property(fc.oneof(cjk, ascii), fc.oneof(cjk, ascii), (a, b) => {
        expect(estimateRequestTokens(line([{ text: a + b }]))).toBeGreaterThanOrEqual(estimateRequestTokens(line([{ text: a }])));
      }),
    );
  });

  it('counts inline media from its base64 length: 258 a blob plus 1 per 100 bytes, not as text', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 200_000 }), fc.boolean(), (bytes, spaced) => {
        const data = Buffer.alloc(bytes, 7).toString('base64');
        let l = line([{ text: 'describe' }, { inlineData: { mimeType: 'image/png', data } }]);
        if (spaced) l = Buffer.from(l.toString().replace('"data":', '"data": '));
        const t = estimateRequestTokens(l);
        expect(t).toBeGreaterThanOrEqual(258 + Math.ceil(bytes / 100));
        // Far below counting the base64 as text.
        expect(t).toBeLessThan(258 + Math.ceil(bytes / 100) + 100);
      }),
    );
  });

  it('a "data" field that is short or not a string is plain text', () => {
    const t = estimateRequestTokens(line([{ text: '"data": "x"' }, { functionResponse: { name: 'f', response: { data: 'short' } } }]));
    expect(t).toBeLessThan(258);
  });
});

/** The estimator's rule for text, one byte at a time (what the word-at-a-time loop must equal). */
function perByte(line: Buffer): number {
  let ascii = 0;
  let nonAscii = 0;
  for (const c of line) {
    if (c < 0x80) ascii++;
    else if (c >= 0xc0) nonAscii++;
  }
  return 16 + Math.ceil(ascii / 3) + nonAscii;
}

describe('estimateRequestTokens, word at a time', () => {
  it('equals the per-byte count on any text (every script, emoji, escapes), at every alignment', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), fc.integer({ min: 0, max: 7 }), (text, pad) => {
        // Text without a "data" member: the whole line is counted as text.
        const l = line([{ text: ' '.repeat(pad) + text }]);
        const shifted = Buffer.concat([Buffer.alloc(pad), l]).subarray(pad); // not 4-byte aligned in its ArrayBuffer
        expect(estimateRequestTokens(l)).toBe(perByte(l));
        expect(estimateRequestTokens(shifted)).toBe(perByte(l));
      }),
    );
  });
});
