/**
 * One streamed pass over a finished OUT (plain or .gz): the line numbers
 * whose result is a resendable error, in order, as a typed array that grows
 * by doubling (4 bytes a resent record; never the lines themselves).
 */
import { isResendable, lineError } from './out-line.js';
import { outLines } from './out-file.js';

export interface OutScan {
  /** OUT's lines. */
  lines: number;
  /** 0-based line numbers to send again, ascending. */
  seqs: Uint32Array;
  /** Errors left as they are, by status (a refused request, an invalid record, ...). */
  kept: Record<string, number>;
  /** Resendable errors by status, for the notice. */
  resend: Record<string, number>;
}

export async function scanOut(path: string): Promise<OutScan> {
  let seqs = new Uint32Array(1024);
  let n = 0;
  let lines = 0;
  const kept: Record<string, number> = {};
  const resend: Record<string, number> = {};
  for await (const line of outLines(path)) {
    const seq = lines++;
    const err = lineError(line);
    if (!err) continue;
    if (!isResendable(err)) {
      kept[err.status] = (kept[err.status] ?? 0) + 1;
      continue;
    }
    resend[err.status] = (resend[err.status] ?? 0) + 1;
    if (n === seqs.length) {
      const grown = new Uint32Array(seqs.length * 2);
      grown.set(seqs);
      seqs = grown;
    }
    seqs[n++] = seq;
  }
  return { lines, seqs: seqs.slice(0, n), kept, resend };
}

/** `{"A": 2, "B": 1}` → `2 A, 1 B` (largest first). */
export function byStatus(counts: Record<string, number>): string {
  return Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .map(([status, k]) => `${k} ${status}`)
    .join(', ');
}
