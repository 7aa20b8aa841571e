/** wire.readLineKey: the key of a result line, whatever the field order, spacing and escapes. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readLineKey } from '../src/internal/wire/result-line.js';
import { serializeRequestLine } from '../src/internal/wire/wire-key.js';
import { resultLine } from './helpers/wire-lines.js';

describe('readLineKey', () => {
  it('finds seq and user key in every layout; by the byte scan when the key is first or last', () => {
    fc.assert(
      fc.property(resultLine, (c) => {
        const k = readLineKey(c.line);
        expect(k).toBeDefined();
        expect(k!.seq).toBe(c.seq);
        expect(k!.userKey).toBe(c.userKey);
        const expectedAt = c.layout === 'first' || c.layout === 'last' ? c.layout : 'parsed';
        expect(k!.at).toBe(expectedAt);
        if (k!.at !== 'parsed') {
          // The span is the key's JSON string exactly.
          expect(JSON.parse(c.line.toString('utf8', k!.keyStart, k!.keyEnd))).toBe(`${c.seq}:${c.userKey}`);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('reads our own request lines', () => {
    fc.assert(
      fc.property(fc.nat(1e9), fc.string({ unit: 'grapheme' }), (seq, key) => {
        const k = readLineKey(serializeRequestLine(seq, key, { contents: [{ parts: [{ text: 'x' }] }] }));
        expect(k).toMatchObject({ seq, userKey: key, at: 'first' });
      }),
    );
  });

  it('is undefined for lines without a key of ours, and for garbage', () => {
    for (const l of ['', 'nope', '{"key": 5, "response": {}}', '{"response": {}, "key": "abc"}', '{"response": {"key": "1:a"}}']) {
      expect(readLineKey(Buffer.from(l)), l).toBeUndefined();
    }
  });
});
