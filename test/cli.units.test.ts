/** The CLI's small cores, in process: the JSONL and JSON array readers, the resume cut. */
import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { openInput } from '../src/cli/input.js';
import { readJsonl } from '../src/cli/jsonl-reader.js';
import { countCompleteLines } from '../src/cli/output.js';
import { chooseMode } from '../src/cli/reporter.js';
import { InvalidInput, RequestLineMaker, SourceLine, SourceValue } from '../src/stages/to-request-line.js';
import { tempDir } from './cli.helpers.js';

async function records(stream: Readable): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const r of stream) out.push(r);
  return out;
}

/** Feed text one byte at a time: multi-byte characters and newlines split everywhere. */
function bytewise(text: string): Readable {
  const buf = Buffer.from(text);
  return Readable.from((function* () {
    for (let i = 0; i < buf.length; i++) yield buf.subarray(i, i + 1);
  })(), { objectMode: false });
}

/** What a reader emitted: `<line>:<text>` for a line, `!<line>:<reason>` for a bad one. */
const show = (rs: unknown[]) =>
  rs.map((r) => (r instanceof InvalidInput ? `!${r.lineNo}:${r.reason.split(' ').slice(0, 5).join(' ')}` : `${(r as SourceLine).lineNo}:${(r as SourceLine).bytes.toString()}`));

describe('readJsonl', () => {
  it('gives each line with its physical line number; blank lines are skipped and counted, a BOM and CRs dropped', async () => {
    const text = '\uFEFF{"k":"a"}\r\n\n{"k":"ü東"}\n  \n{oops\n{"k":"z"}\n\n\n';
    const stream = readJsonl(bytewise(text), { name: 't' });
    const rs = await records(stream);
    expect(show(rs)).toEqual(['1:{"k":"a"}', '3:{"k":"ü東"}', '5:{oops', '6:{"k":"z"}']);
    expect(stream.stats).toEqual({ lines: 8, blankLines: 4, firstBlankLine: 2 });
    expect((rs[0] as SourceLine).origin?.name).toBe('t');
  });

  it('a file without a final newline still gives its last line', async () => {
    const rs = await records(readJsonl(Readable.from([Buffer.from('{"k":"a"}\n{"k":"b"}')]), { name: 't' }));
    expect(show(rs)).toEqual(['1:{"k":"a"}', '2:{"k":"b"}']);
  });

  it('an over-long line is an invalid record naming its line and key, and reading goes on after it', async () => {
    const text = `{"k":"a"}\n{"key": "big", "x":"${'x'.repeat(200)}"}\n{"k":"c"}\n{"k":"${'y'.repeat(300)}"}`;
    // Whole in one read, or trickling in: the same records.
    for (const source of [Readable.from([Buffer.from(text)]), bytewise(text)]) {
      const rs = await records(readJsonl(source, { name: 'big.jsonl', maxLineChars: 100, invalidHint: 'use --on-invalid emit' }));
      expect(show(rs)).toEqual(['1:{"k":"a"}', '!2:the line is longer than', '3:{"k":"c"}', '!4:the line is longer than']);
      const bad = rs[1] as InvalidInput;
      expect(bad.key).toBe('big');
      expect(bad.reason).toContain('longer than 100 bytes');
      expect(bad.origin?.invalidHint).toBe('use --on-invalid emit');
    }
  });

  it('through toRequestLine: errors name the physical line, the key and the --on-invalid hint; emit goes on', async () => {
    const text = '{"key":"a","request":{"contents":[{"parts":[{"text":"x"}]}]}}\n\n{"key":"b","prompt":"no request"}\n';
    const stop = new RequestLineMaker({ lineNumbers: true });
    const rs = await records(readJsonl(Readable.from([Buffer.from(text)]), { name: 't', invalidHint: 'fix it, or run with --on-invalid emit' }));
    expect(stop.make(rs[0] as never, 0).line?.toString()).toBe('{"key":"0:a","request":{"contents":[{"parts":[{"text":"x"}]}]}}\n');
    expect(() => stop.make(rs[1] as never, 1)).toThrowError(/^line 3 \(key "b"\): missing "request".*; fix it, or run with --on-invalid emit$/);
    const emit = new RequestLineMaker({ onInvalid: 'emit' });
    expect(emit.make(rs[1] as never, 1).invalid?.message).toMatch(/^line 3 \(key "b"\): missing "request"/);
    expect(emit.make(rs[1] as never, 1).invalid?.message).not.toContain('--on-invalid');
  });
});

describe('openInput', () => {
  it('tells a JSON array from JSONL by its first non-blank byte, on stdin too', async () => {
    const stdin = new PassThrough();
    stdin.end('\n  [ {"k": 1}, {"k": 2} ]\n');
    const arr = await openInput('-', { stdin });
    expect(arr.format).toBe('json-array');
    expect(arr.lineNumbers).toBe(false);
    expect((await records(arr.records)).map((r) => (r as SourceValue).value)).toEqual([{ k: 1 }, { k: 2 }]);

    const jsonl = new PassThrough();
    jsonl.end('{"k": 1}\n\n');
    const j = await openInput('-', { stdin: jsonl });
    expect(j.format).toBe('jsonl');
    expect((await records(j.records)).map((r) => (r as SourceLine).bytes.toString())).toEqual(['{"k": 1}']);
    expect(j.stats.blankLines).toBe(1);
  });

  it('an empty input is zero records, and a broken JSON array one clear error', async () => {
    const empty = new PassThrough();
    empty.end('  \n');
    expect(await records((await openInput('-', { stdin: empty })).records)).toEqual([]);
    const broken = new PassThrough();
    broken.end('[{"k": 1}, {"k": ');
    const err = await records((await openInput('-', { stdin: broken })).records).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^stdin is not a valid JSON array/);
  });
});

describe('countCompleteLines', () => {
  it('counts lines ending in a newline and where the last one ends', () => {
    const dir = tempDir();
    const p = join(dir, 'o.jsonl');
    writeFileSync(p, 'ab\ncd\nef');
    const c = countCompleteLines(p);
    expect(c).toMatchObject({ lines: 2, bytes: 6, size: 8 });
    // The hash covers the complete lines only, across the 1 MiB reads too.
    expect(c.hash.digest('hex')).toBe(createHash('sha256').update('ab\ncd\n').digest('hex'));
    const big = `${'x'.repeat((1 << 20) - 2)}\n${'y'.repeat(1 << 20)}\nzz`;
    writeFileSync(p, big);
    const b = countCompleteLines(p);
    expect(b).toMatchObject({ lines: 2, bytes: big.length - 2, size: big.length });
    expect(b.hash.digest('hex')).toBe(createHash('sha256').update(big.slice(0, -2)).digest('hex'));
    expect(countCompleteLines(join(dir, 'none'))).toMatchObject({ lines: 0, bytes: 0, size: 0 });
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('chooseMode', () => {
  it('a live line only on a terminal outside CI', () => {
    expect(chooseMode({}, { isTTY: true }, {})).toBe('tty');
    expect(chooseMode({}, { isTTY: true }, { CI: 'true' })).toBe('log');
    expect(chooseMode({}, { isTTY: false }, {})).toBe('log');
    expect(chooseMode({ quiet: true }, { isTTY: true }, {})).toBe('quiet');
    expect(chooseMode({ json: true }, { isTTY: true }, {})).toBe('json');
  });
});

describe('flag names and flag parsers', () => {
  it('library option names in a message become the flags a CLI user typed; English words stay', async () => {
    const { withFlagNames } = await import('../src/cli/flag-names.js');
    expect(withFlagNames('geminiBatch: option maxRequestsPerBatch: Number must be less than or equal to 200000')).toBe('--max-requests: Number must be less than or equal to 200000');
    expect(withFlagNames('geminiBatch: option model: Required')).toBe('--model: Required');
    expect(withFlagNames('geminiBatch: webhook.secret must look like whsec_')).toBe('--webhook-secret must look like whsec_');
    expect(withFlagNames('unknown model x, pick a mode')).toBe('unknown model x, pick a mode');
  });

  it('--webhook-listen takes HOST:PORT, [v6]:PORT or a bare PORT', async () => {
    const { hostPort } = await import('../src/cli/parse.js');
    expect(hostPort('0.0.0.0:8787')).toEqual({ host: '0.0.0.0', port: 8787 });
    expect(hostPort('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(hostPort('9000')).toEqual({ host: '127.0.0.1', port: 9000 });
    expect(() => hostPort('host:99999')).toThrow(/HOST:PORT/);
    expect(() => hostPort('host')).toThrow(/HOST:PORT/);
  });

  it('CliUsageError is a GeminiBatchError with code ERR_USAGE, exit 2; library option errors exit 2 too', async () => {
    const { CliUsageError, exitCodeOf } = await import('../src/cli/errors.js');
    const { GeminiBatchError } = await import('../src/errors.js');
    const e = new CliUsageError('bad');
    expect(e).toBeInstanceOf(GeminiBatchError);
    expect(e.code).toBe('ERR_USAGE');
    expect(exitCodeOf(e)).toBe(2);
    expect(exitCodeOf(new GeminiBatchError('ERR_INVALID_OPTIONS', 'x'))).toBe(2);
    expect(exitCodeOf(new GeminiBatchError('ERR_STATE_LOCKED', 'x'))).toBe(1);
  });
});
