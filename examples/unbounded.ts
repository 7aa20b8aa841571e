/**
 * An unbounded source: records trickle in (a queue, a socket, a log tail) and
 * never "end" in the usual sense. flushAfterMs closes a batch a fixed time
 * after its first record, so results keep coming instead of waiting for a
 * batch to fill up. This one trickles for ~5 s, then stops.
 *
 *   npx tsx examples/unbounded.ts
 */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { geminiBatch, type JobEvent, type KeyedResult } from 'gemini-batch-stream';
import { openService } from './service.js';

const RUN_MS = 5_000;
const EVERY_MS = 40;
const FLUSH_AFTER_MS = 1_000;

/** One event every EVERY_MS until RUN_MS has passed. */
function trickle(): Readable {
  const started = Date.now();
  let n = 0;
  let timer: NodeJS.Timeout | undefined;
  return new Readable({
    objectMode: true,
    read() {
      timer = setTimeout(() => {
        if (Date.now() - started >= RUN_MS) return void this.push(null);
        const text = `event ${n}: sensor ${n % 4} reads ${(20 + Math.sin(n / 10) * 5).toFixed(1)} °C`;
        this.push({ key: `e${n++}:${Date.now()}`, request: { contents: [{ role: 'user', parts: [{ text: `Classify: ${text}` }] }] } });
      }, EVERY_MS);
    },
    destroy(err, cb) {
      clearTimeout(timer);
      cb(err);
    },
  });
}

async function main(): Promise<void> {
  const service = await openService();
  console.log(`unbounded: a record every ${EVERY_MS} ms for ${RUN_MS / 1000} s, batches closed ${FLUSH_AFTER_MS} ms after their first record, via ${service.describe}`);
  const gb = geminiBatch({ model: 'gemini-2.5-flash-lite', ...service.options, flushAfterMs: FLUSH_AFTER_MS });
  gb.on('job', (e: JobEvent) => {
    if (e.state === 'SUCCEEDED') console.log(`  batch ${e.batchName} done (${e.requests} requests)`);
  });
  let results = 0;
  let latencySum = 0;
  const sink = new Writable({
    objectMode: true,
    write(r: KeyedResult, _enc, cb) {
      // The key carries the time the record was made: how long until its answer?
      latencySum += Date.now() - Number((r.key ?? '').split(':')[1]); // (null: an invalid record, none here)
      results++;
      cb();
    },
  });
  try {
    await pipeline(trickle(), gb, sink);
  } finally {
    await service.close();
  }
  console.log(`unbounded: ${results} results, on average ${(latencySum / Math.max(1, results) / 1000).toFixed(1)} s after their record was made`);
}

main().catch((err: unknown) => {
  console.error(`unbounded failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
