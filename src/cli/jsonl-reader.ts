/**
 * JSONL bytes → records, one per line, with line N of the file always being
 * record seq N-1 so that the library's "line N (key …)" errors point at the
 * right line: a line that is not JSON and a blank line in the middle become
 * InvalidInput records instead of disappearing. Blank lines at the very end
 * are not records (editors add them).
 */
import type { Readable, Transform, TransformCallback } from 'node:stream';
import split2 from 'split2';
import { GeminiBatchError } from '../errors.js';
import { InvalidInput } from '../stages/to-request-line.js';

/** Characters in one line before we give up on it (split2 buffers a line whole). */
export const DEFAULT_MAX_LINE_CHARS = 64 * 1024 * 1024;

export interface ReadJsonlOptions {
  name: string;
  maxLineChars?: number;
  /**
   * Hand each line on as its raw text for toRequestLine to parse once and send
   * as it is (Gemini batch JSONL needs no re-serialising); false: parse here,
   * for a toRequest that wants objects.
   */
  raw?: boolean;
}

const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0d;

export function readJsonl(source: Readable, opts: ReadJsonlOptions): Readable {
  const maxLength = opts.maxLineChars ?? DEFAULT_MAX_LINE_CHARS;
  let lines = 0;
  // Fatal whatever --on-invalid says: split2 cannot skip the rest of such a line without losing count.
  const tooLong = (line: number) =>
    new GeminiBatchError(
      'ERR_INVALID_RECORD',
      `line ${line} of ${opts.name} is longer than ${maxLength} characters (raise --max-line-bytes if it is meant to be)`,
    );
  // Blank lines are held back until a real line follows: trailing ones are not records.
  let pendingBlanks = 0;
  const splitter: Transform = split2(
    (line: string): unknown => {
      lines++;
      // split2 only bounds the unfinished fragment; a whole line that came in one read is checked here.
      if (line.length > maxLength) throw tooLong(lines);
      if (lines === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
      if (line.length === 0 || (isSpace(line.charCodeAt(0)) && line.trim() === '')) {
        pendingBlanks++;
        return undefined;
      }
      for (; pendingBlanks > 0; pendingBlanks--) splitter.push(new InvalidInput('empty line'));
      if (opts.raw) return line;
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch (err) {
        record = new InvalidInput(`not valid JSON: ${(err as Error).message}`);
      }
      return record;
    },
    { maxLength },
  );
  source.on('error', (err) => splitter.destroy(err));
  splitter.on('close', () => source.destroy());
  // split2 fails an over-long line with only "maximum buffer reached": name the line and the fix.
  const transform = splitter._transform.bind(splitter);
  splitter._transform = (chunk: Buffer, enc: BufferEncoding, cb: TransformCallback) =>
    transform(chunk, enc, (err?: Error | null) => {
      cb(err?.message === 'maximum buffer reached' ? tooLong(lines + 1) : err);
    });
  return source.pipe(splitter);
}
