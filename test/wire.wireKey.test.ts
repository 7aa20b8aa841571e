/** wire.wireKey / splitWireKey / serializeRequestLine: the seq travels with the key and comes back intact. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { serializeRequestLine, splitWireKey, wireKey } from '../src/internal/wire/wire-key.js';
import { userKey } from './helpers/wire-lines.js';

describe('wireKey', () => {
  it('splits back into the same seq and user key, colons in the key included', () => {
    fc.assert(
      fc.property(fc.nat(Number.MAX_SAFE_INTEGER), fc.oneof(userKey, fc.constantFrom('a:b', ':', '0:0', '')), (seq, key) => {
        expect(splitWireKey(wireKey(seq, key))).toEqual({ seq, userKey: key });
      }),
    );
  });

  it('is not ours without a seq of digits before the first colon', () => {
    for (const k of ['abc', ':x', 'a1:x', '1a:x', '-1:x', 5, null, undefined, '12345678901234567:x']) expect(splitWireKey(k), String(k)).toBeUndefined();
  });

  it('serialises one JSON line {key, request} ending in a newline', () => {
    fc.assert(
      fc.property(fc.nat(1e12), userKey, fc.jsonValue(), (seq, key, request) => {
        const line = serializeRequestLine(seq, key, request);
        expect(line.subarray(-1).toString()).toBe('\n');
        expect(line.subarray(0, -1).includes(0x0a)).toBe(false);
        expect(JSON.parse(line.toString())).toEqual(JSON.parse(JSON.stringify({ key: wireKey(seq, key), request })));
      }),
    );
  });
});
