/**
 * The responses file being written: lines are gathered and written as one
 * buffer per input chunk (not per line), hashed on the way, and the writer
 * waits for 'drain' when the disk falls behind.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';

export class OutputFile {
  readonly path: string;
  size = 0;
  lines = 0;
  private parts: string[] = [];
  /** Characters queued: answers with images are a megabyte each, and one joined string may not pass V8's 512 MiB. */
  queuedChars = 0;
  private readonly hash = createHash('sha256');
  private readonly ws: WriteStream;

  constructor(path: string) {
    this.path = path;
    this.ws = createWriteStream(path, { highWaterMark: 256 << 10 });
  }

  /** Queue one line (no newline): cheap, no I/O. */
  add = (line: string): void => {
    this.parts.push(line);
    this.queuedChars += line.length + 1;
    this.lines++;
  };

  /** Write what is queued; resolves once the stream has room again. */
  async flush(): Promise<void> {
    if (this.parts.length === 0) return;
    const buf = Buffer.from(this.parts.join('\n') + '\n', 'utf8');
    this.parts = [];
    this.queuedChars = 0;
    this.hash.update(buf);
    this.size += buf.length;
    if (!this.ws.write(buf)) await once(this.ws, 'drain');
  }

  async close(): Promise<{ sha256Hex: string; size: number; lines: number }> {
    await this.flush();
    this.ws.end();
    await finished(this.ws);
    return { sha256Hex: this.hash.digest('hex'), size: this.size, lines: this.lines };
  }

  destroy(): void {
    this.ws.destroy();
  }
}
