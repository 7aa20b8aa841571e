/** wire.lineToInlineItem / inlineItemBytes: an inline item sliced from a spool line, and its exact size. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inlineItemBytes, lineToInlineItem } from '../src/internal/wire/inline-item.js';
import { serializeRequestLine, wireKey } from '../src/internal/wire/wire-key.js';
import { userKey } from './helpers/wire-lines.js';

describe('lineToInlineItem', () => {
  it('is {request, metadata: {key}} of the line, and inlineItemBytes its size plus a comma', () => {
    fc.assert(
      fc.property(fc.nat(1e12), userKey, fc.string({ unit: 'grapheme', maxLength: 30 }), (seq, key, text) => {
        const request = { contents: [{ role: 'user', parts: [{ text }] }], generationConfig: { temperature: 0.5 } };
        const line = serializeRequestLine(seq, key, request);
        const item = lineToInlineItem(line);
        expect(JSON.parse(item.toString())).toEqual({ request, metadata: { key: wireKey(seq, key) } });
        expect(inlineItemBytes(line.length)).toBe(item.length + 1);
        // Without the trailing newline too.
        expect(lineToInlineItem(line.subarray(0, -1))).toEqual(item);
      }),
      { numRuns: 300 },
    );
  });
});
