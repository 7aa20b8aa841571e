/** toRequestLine() options: toRequest, onInvalid, maxLineBytes, task and what the assembly lends. */
import { describe, expect, it } from 'vitest';
import { parseOptions } from '../src/options/parse.js';
import { toRequestLineOptionsSchema } from '../src/options/record.js';
import { toRequestLine } from '../src/stages/to-request-line.js';
import { expectRefused, frozen } from './options.helpers.js';

describe('toRequestLine options', () => {
  it('defaults: a bad record fails the stream, generate requests, no line limit of its own', () => {
    expect(parseOptions(toRequestLineOptionsSchema, {}, 'toRequestLine')).toEqual({ onInvalid: 'error', task: 'generate' });
  });

  it('refuses bad values synchronously, naming the option', () => {
    expectRefused(() => toRequestLine({ onInvalid: 'skip' as never }), /^toRequestLine: option onInvalid: /);
    expectRefused(() => toRequestLine({ maxLineBytes: 0 }), /option maxLineBytes/);
    expectRefused(() => toRequestLine({ toRequest: 'x' as never }), /option toRequest: must be a function/);
    expectRefused(() => toRequestLine({ task: 'chat' as never }), /option task/);
    expectRefused(() => toRequestLine({ firstSeq: -1 }), /option firstSeq/);
    expectRefused(() => toRequestLine({ onInvalidd: 'emit' } as never), /Unrecognized key/);
  });

  it('leaves the caller object as it was, and uses it', async () => {
    const { value, copy } = frozen({ onInvalid: 'emit' as const, maxLineBytes: 50 });
    const stage = toRequestLine(value);
    expect(value).toEqual(copy);
    const out: Array<{ invalid?: { status: string } }> = [];
    stage.on('data', (rl: { invalid?: { status: string } }) => out.push(rl));
    stage.end({ key: 'a', request: { contents: [{ parts: [{ text: 'x'.repeat(100) }] }] } });
    await new Promise((r) => stage.once('end', r));
    // maxLineBytes 50 and onInvalid 'emit' took effect: the long record is an invalid line, not a failure.
    expect(out).toHaveLength(1);
    expect(out[0]!.invalid).toBeDefined();
  });
});
