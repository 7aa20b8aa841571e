/**
 * The pure parts of a resend: which OUT lines are resent (isResendable over
 * lineError), how a new line takes OUT's key (withKeyOf), and the line
 * splitter the merge and the .gz reader share.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { splitLines } from '../src/cli/out-file.js';
import { isResendable, lineError, withKeyOf } from '../src/cli/out-line.js';

const line = (o: unknown) => Buffer.from(`${JSON.stringify(o)}\n`);
const err = (code: number, status?: string) => line({ key: 'a', error: { code, message: 'm', ...(status ? { status } : {}) } });

describe('which OUT lines a finished run resends', () => {
  it.each([
    [err(13, 'INTERNAL'), true],
    [err(14, 'UNAVAILABLE'), true],
    [err(429, 'RESOURCE_EXHAUSTED'), true],
    [err(503, 'UNAVAILABLE'), true],
    [err(500, 'MISSING_RESULT'), true],
    [err(504, 'BATCH_EXPIRED'), true],
    [err(500, 'BATCH_FAILED'), true],
    [err(3, 'INVALID_ARGUMENT'), false],
    [err(400, 'INVALID_RECORD'), false],
    [err(402, 'BUDGET_EXCEEDED'), false],
    [err(500, 'BATCH_CANCELLED'), false],
    [line({ key: 'a', response: { candidates: [{ content: { parts: [{ text: '"error": 13' }] } }] } }), false],
    [line({ key: null, embedding: [1, 2] }), false],
  ])('%s → %s', (l, resend) => {
    expect(isResendable(lineError(l))).toBe(resend);
  });

  it('reads the error of a line whose key is null or has escapes', () => {
    expect(lineError(line({ key: null, error: { code: 14, message: 'x' } }))?.status).toBe('UNAVAILABLE');
    expect(lineError(line({ key: 'q"\\"', error: { code: 13, message: 'x' } }))?.status).toBe('INTERNAL');
  });
});

describe('withKeyOf', () => {
  it('puts OUT\'s key bytes on the new line, the rest as it came', () => {
    const fresh = Buffer.from('{"key":"0","response":{"a":1}}\n');
    expect(withKeyOf(fresh, Buffer.from('{"key":"7","error":{"code":13}}\n')).toString()).toBe('{"key":"7","response":{"a":1}}\n');
    expect(withKeyOf(fresh, Buffer.from('{"key":"\\u00e9\\"x","error":{}}\n')).toString()).toBe('{"key":"\\u00e9\\"x","response":{"a":1}}\n');
    expect(withKeyOf(fresh, Buffer.from('{"key":null,"error":{}}\n')).toString()).toBe('{"key":null,"response":{"a":1}}\n');
  });
});

describe('splitLines', () => {
  it('gives each line with its newline whatever the chunking, and a torn last line as it is', async () => {
    const text = 'one\ntwo\n' + 'x'.repeat(300) + '\n\nlast';
    for (const size of [1, 3, 7, 64, 1000]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < text.length; i += size) chunks.push(Buffer.from(text.slice(i, i + size)));
      const lines: string[] = [];
      for await (const l of splitLines(Readable.from(chunks))) lines.push(l.toString());
      expect(lines).toEqual(['one\n', 'two\n', `${'x'.repeat(300)}\n`, '\n', 'last']);
    }
  });
});
