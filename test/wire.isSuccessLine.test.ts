/** wire.isSuccessLine: response or error, whatever the field order, with or without the key's position. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSuccessLine, readLineKey } from '../src/internal/wire/result-line.js';
import { resultLine } from './helpers/wire-lines.js';

describe('isSuccessLine', () => {
  it('says response for response lines and error for error lines, given the key, its keyEnd, or nothing', () => {
    fc.assert(
      fc.property(resultLine, (c) => {
        const k = readLineKey(c.line)!;
        const ok = c.kind === 'response';
        expect(isSuccessLine(c.line, k)).toBe(ok);
        expect(isSuccessLine(c.line, k.keyEnd)).toBe(ok);
        expect(isSuccessLine(c.line)).toBe(ok);
      }),
      { numRuns: 500 },
    );
  });

  it('an unparsable line or a null response is an error', () => {
    expect(isSuccessLine(Buffer.from('{"response": nul'))).toBe(false);
    expect(isSuccessLine(Buffer.from('{"response": null, "error": {"code": 3}, "key": "1:a"}'))).toBe(false);
    expect(isSuccessLine(Buffer.from('garbage'))).toBe(false);
  });
});
