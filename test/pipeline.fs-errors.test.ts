/** Local file failures reach the caller as ERR_FILE_IO with the fs error as cause, saying what was being done. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GeminiBatchError } from '../src/errors.js';
import { sizeChunker } from '../src/stages/size-chunker.js';
import { geminiBatch } from '../src/index.js';
import type { RequestLine } from '../src/types.js';
import { serializeRequestLine } from '../src/internal/wire/wire-line.js';

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'gb-fserr-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const line = (seq: number): RequestLine => ({ seq, key: `k${seq}`, line: serializeRequestLine(seq, `k${seq}`, { contents: [] }) });

describe('fs errors at the stage boundary', () => {
  it('a spool dir that is gone: ERR_FILE_IO from the chunker, cause ENOENT', async () => {
    const err = await pipeline(
      Readable.from([line(0), line(1)]),
      sizeChunker({ workDir: join(root, 'missing') }, { mode: 'file' }),
      new Writable({ objectMode: true, write: (_c, _e, cb) => cb() }),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GeminiBatchError);
    expect((err as GeminiBatchError).code).toBe('ERR_FILE_IO');
    expect((err as Error).message).toMatch(/^writing a spool file: ENOENT/);
    expect(((err as Error).cause as NodeJS.ErrnoException).code).toBe('ENOENT');
  });

  it('a tmpDir that is a file: ERR_FILE_IO from geminiBatch(), synchronously', () => {
    const file = join(root, 'not-a-dir');
    writeFileSync(file, '');
    expect(() => geminiBatch({ model: 'm', apiKey: 'k', baseUrl: 'http://127.0.0.1:9', tmpDir: file })).toThrowError(
      expect.objectContaining({ code: 'ERR_FILE_IO', message: expect.stringMatching(/^preparing the spool directory: ENOTDIR/) }),
    );
  });
});
