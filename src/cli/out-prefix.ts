/**
 * OUT's first N lines, for a resume that must send again what OUT already
 * has lines for: after a budget stop, OUT's lines from the stop on are
 * BUDGET_EXCEEDED errors, and a larger --max-cost sends those records.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import type { CompleteLines } from './output.js';

/** Like countCompleteLines, but of at most the first `max` lines (the file is cut back to them on open). */
export function firstLines(path: string, max: number): CompleteLines {
  const hash = createHash('sha256');
  if (!existsSync(path)) return { lines: 0, bytes: 0, hash, size: 0 };
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    // First where the max-th line (or the last whole one) ends, then the hash of the bytes before.
    let pos = 0;
    let lines = 0;
    let bytes = 0;
    for (let n = readSync(fd, buf, 0, buf.length, pos); n > 0 && lines < max; n = readSync(fd, buf, 0, buf.length, pos)) {
      for (let i = buf.indexOf(0x0a); i !== -1 && i < n && lines < max; i = buf.indexOf(0x0a, i + 1)) {
        lines++;
        bytes = pos + i + 1;
      }
      pos += n;
    }
    let size = pos;
    for (let n = readSync(fd, buf, 0, buf.length, size); n > 0; n = readSync(fd, buf, 0, buf.length, size)) size += n;
    for (let at = 0; at < bytes; ) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, bytes - at), at);
      if (n <= 0) break;
      hash.update(buf.subarray(0, n));
      at += n;
    }
    return { lines, bytes, hash, size };
  } finally {
    closeSync(fd);
  }
}
