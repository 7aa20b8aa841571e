/**
 * Counts results by status as they pass on their way to OUT. The pipeline's
 * jsonl output is `{"key":"…","response":…}\n` or `{"key":"…","error":{…}}\n`:
 * a look at the bytes after the key says which, and only the (rare) error
 * lines are parsed, for their status.
 */
import { Transform, type TransformCallback } from 'node:stream';

const KEY_PREFIX = '{"key":"';
const ERROR_AFTER_KEY = Buffer.from(',"error":');

export class ResultTally {
  written = 0;
  ok = 0;
  /** error status → count */
  readonly errors = new Map<string, number>();

  get errorCount(): number {
    let n = 0;
    for (const c of this.errors.values()) n += c;
    return n;
  }

  add(line: Buffer): void {
    this.written++;
    const end = keyEnd(line);
    const isError = end > 0 ? line.compare(ERROR_AFTER_KEY, 0, ERROR_AFTER_KEY.length, end, end + ERROR_AFTER_KEY.length) === 0 : hasError(line);
    if (!isError) {
      this.ok++;
      return;
    }
    const status = errorStatus(line);
    this.errors.set(status, (this.errors.get(status) ?? 0) + 1);
  }

  /** A pass-through stage that counts what goes by. */
  stage(): Transform {
    return new Transform({
      objectMode: true,
      highWaterMark: 256,
      transform: (line: Buffer, _enc: BufferEncoding, cb: TransformCallback) => {
        this.add(line);
        cb(null, line);
      },
    });
  }
}

/** Index just past the closing quote of the leading key string, or -1. */
function keyEnd(line: Buffer): number {
  if (line.toString('latin1', 0, KEY_PREFIX.length) !== KEY_PREFIX) return -1;
  for (let i = KEY_PREFIX.length; i < line.length; i++) {
    const c = line[i];
    if (c === 0x5c) i++; // skip the escaped character
    else if (c === 0x22) return i + 1;
  }
  return -1;
}

function parse(line: Buffer): { error?: { status?: unknown } } | undefined {
  try {
    return JSON.parse(line.toString('utf8')) as { error?: { status?: unknown } };
  } catch {
    return undefined;
  }
}

function hasError(line: Buffer): boolean {
  return parse(line)?.error !== undefined;
}

function errorStatus(line: Buffer): string {
  const status = parse(line)?.error?.status;
  return typeof status === 'string' && status !== '' ? status : 'UNKNOWN';
}
