/** wire.rekeyResultLine: the output line made by slicing, key first, the rest as the service wrote it. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readLineKey, rekeyResultLine } from '../src/internal/wire/result-line.js';
import { resultLine } from './helpers/wire-lines.js';

describe('rekeyResultLine', () => {
  it('is {key: userKey, ...the other members}, key first, one line, for key-first and key-last lines', () => {
    fc.assert(
      fc.property(resultLine, (c) => {
        const k = readLineKey(c.line)!;
        const out = rekeyResultLine(c.line, k);
        if (k.at === 'parsed') {
          expect(out).toBeUndefined();
          return;
        }
        expect(out).toBeDefined();
        const text = out!.toString('utf8');
        expect(text.startsWith(`{"key":${JSON.stringify(c.userKey)}`)).toBe(true);
        expect(text.endsWith('}\n')).toBe(true);
        expect(text.slice(0, -1)).not.toContain('\n');
        const parsed = JSON.parse(text) as Record<string, unknown>;
        expect(Object.keys(parsed)[0]).toBe('key');
        expect(parsed).toEqual({ key: c.userKey, ...c.body });
      }),
      { numRuns: 500 },
    );
  });

  it('keeps the service\'s bytes of the response untouched', () => {
    const line = Buffer.from('{"response": {"candidates": [{"content": {"parts": [{"text": "東 \\"q\\""}]}}]}, "key": "12:a\\"b"}');
    const out = rekeyResultLine(line, readLineKey(line)!)!;
    expect(out.toString()).toBe('{"key":"a\\"b","response": {"candidates": [{"content": {"parts": [{"text": "東 \\"q\\""}]}}]}}\n');
  });
});

describe('rekeyResultLine on a cut line', () => {
  it('gives nothing for a line cut anywhere, so broken JSON never reaches the output', () => {
    fc.assert(
      fc.property(resultLine, fc.nat(), (c, at) => {
        const text = c.line.toString().trimEnd();
        const cut = Buffer.from(text.slice(0, 1 + (at % (text.length - 1))));
        const k = readLineKey(cut);
        if (!k) return;
        const out = rekeyResultLine(cut, k);
        if (out) expect(() => JSON.parse(out.toString())).not.toThrow();
      }),
      { numRuns: 500 },
    );
  });
});
