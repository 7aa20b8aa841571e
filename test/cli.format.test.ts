/** cli/format int(): what toLocaleString('en-US') writes, without loading Intl. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { int } from '../src/cli/format.js';

describe('int', () => {
  it("groups digits as toLocaleString('en-US') does, for counts and for the odd fraction", () => {
    fc.assert(fc.property(fc.maxSafeInteger(), (n) => void expect(int(n)).toBe(n.toLocaleString('en-US'))));
    fc.assert(fc.property(fc.integer({ min: -1e9, max: 1e9 }), fc.integer({ min: 0, max: 999 }), (w, f) => {
      const n = w + f / 1000;
      expect(int(n)).toBe(n.toLocaleString('en-US'));
    }));
  });
});
