/** Test input builders and sinks shared by the pipeline suites. */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Duplex } from 'node:stream';
import type { BatchRecord, KeyedResult } from '../../src/types.js';

export function textRecord(key: string | number | undefined, text: string): BatchRecord {
  return { ...(key === undefined ? {} : { key }), request: { contents: [{ role: 'user', parts: [{ text }] }] } };
}

export function records(n: number, text = (i: number) => `prompt ${i} — ünïcödé ✓ 日本語 ${'é'.repeat(i % 7)}`): BatchRecord[] {
  return Array.from({ length: n }, (_, i) => textRecord(`k${i}`, text(i)));
}

/** Run records through a pipeline stage and collect everything it emits. */
export async function collect(input: Iterable<unknown> | AsyncIterable<unknown>, stage: Duplex): Promise<KeyedResult[]> {
  const out: KeyedResult[] = [];
  await pipeline(
    Readable.from(input as Iterable<unknown>, { objectMode: true }),
    stage,
    new Writable({
      objectMode: true,
      write(r: KeyedResult, _e, cb) {
        out.push(r);
        cb();
      },
    }),
  );
  return out;
}

/** The text the emulator's default responder echoes for a record (first 40 chars of the prompt). */
export function responseText(r: KeyedResult): string | undefined {
  if (!('response' in r)) return undefined;
  const c = (r.response as { candidates?: Array<{ content?: { parts?: Array<{ text?: string }> } }> }).candidates;
  return c?.[0]?.content?.parts?.[0]?.text;
}

/** A source that makes records on demand and counts how many were pulled. */
export function countingSource(total: number) {
  let read = 0;
  const stream = new Readable({
    objectMode: true,
    highWaterMark: 16,
    read() {
      if (read >= total) return this.push(null);
      this.push(textRecord(`r${read}`, `record ${read}`));
      read++;
    },
  });
  return { stream, read: () => read };
}
