/** wire.readUsage / usageFromResponse: the same token counts from bytes (jsonl mode) as from objects. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { valueEnd } from '../src/internal/wire/json-bytes.js';
import { outputTokens, readUsage, scanResultLine, usageFromResponse } from '../src/internal/wire/usage.js';
import { dumps, response, usage } from './helpers/wire-lines.js';

describe('readUsage', () => {
  it('reads from a line exactly what usageFromResponse reads from the parsed response, anywhere in the line', () => {
    fc.assert(
      fc.property(response, fc.boolean(), fc.boolean(), (r, spaced, keyFirst) => {
        const obj = keyFirst ? { key: '1:k', response: r } : { response: r, key: '1:k' };
        const line = Buffer.from(dumps(obj, spaced));
        expect(readUsage(line)).toEqual(usageFromResponse(JSON.parse(line.toString()).response));
      }),
      { numRuns: 300 },
    );
  });

  it('reads nested usageMetadata with thinking, cached tokens and details', () => {
    fc.assert(
      fc.property(usage, (u) => {
        const got = readUsage(Buffer.from(JSON.stringify({ response: { candidates: [], usageMetadata: u }, key: '3:x' })))!;
        expect(got.prompt).toBe(u.promptTokenCount ?? 0);
        expect(got.thoughts).toBe(u.thoughtsTokenCount ?? 0);
        expect(got.cached).toBe(u.cachedContentTokenCount ?? 0);
        expect(got.total).toBe(u.totalTokenCount ?? 0);
        expect(got.promptDetails).toEqual(u.promptTokensDetails ?? []);
        expect(outputTokens(got)).toBe((u.candidatesTokenCount ?? 0) + (u.thoughtsTokenCount ?? 0));
      }),
    );
  });

  it('ignores "usageMetadata" inside text, takes int64 strings, and is undefined without usage', () => {
    const text = JSON.stringify({ response: { candidates: [{ content: { parts: [{ text: '"usageMetadata": {"promptTokenCount": 99}' }] } }] }, key: '1:a' });
    expect(readUsage(Buffer.from(text))).toBeUndefined();
    const strings = Buffer.from('{"response": {"usageMetadata": {"promptTokenCount": "7", "totalTokenCount": "9"}}, "key": "1:a"}');
    expect(readUsage(strings)).toMatchObject({ prompt: 7, total: 9, candidates: 0 });
    expect(readUsage(Buffer.from('{"error": {"code": 13}, "key": "1:a"}'))).toBeUndefined();
  });
});

describe('scanResultLine', () => {
  it('ends where valueEnd ends the line, whole or cut anywhere (the balance check rekeying relies on)', () => {
    fc.assert(
      fc.property(response, fc.boolean(), fc.nat(), (r, spaced, cutAt) => {
        const whole = Buffer.from(dumps({ response: r, key: '1:k' }, spaced));
        for (const line of [whole, whole.subarray(0, cutAt % whole.length)]) {
          expect(scanResultLine(line, 0).end).toBe(valueEnd(line, 0));
        }
      }),
      { numRuns: 300 },
    );
  });
});
