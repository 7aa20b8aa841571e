/**
 * The client under test, in its own process: reads the JSONL the way the
 * CLI does (its reader hands raw lines on; toRequestLine parses each once
 * to validate it and sends its bytes as they are), runs it through
 * geminiBatch in file mode with `output: 'jsonl'`, writes the result lines
 * to a file. BENCH_PARSE=1 parses in the reader instead (split2(JSON.parse)).
 *   node --import tsx bench/client.child.ts RESULT_JSON INPUT OUTPUT BASE_URL MAX_REQUESTS POLL_MS
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import split2 from 'split2';
import { readJsonl } from '../src/cli/jsonl-reader.js';
import { geminiBatch } from '../src/index.js';
import type { ProgressSnapshot } from '../src/types.js';
import { report, startMeasure } from './lib/measure.js';

const [, , , input, output, baseUrl, maxRequests, pollMs] = process.argv;
if (!input || !output || !baseUrl) throw new Error('usage: client.child.ts RESULT INPUT OUTPUT BASE_URL MAX_REQUESTS POLL_MS');

const stop = startMeasure();
const batch = geminiBatch({
  model: 'gemini-2.5-flash',
  apiKey: 'bench',
  baseUrl,
  mode: 'file',
  output: 'jsonl',
  maxRequestsPerBatch: Number(maxRequests),
  pollInterval: { initialMs: Number(pollMs), maxMs: Number(pollMs) * 4 },
});
let last: ProgressSnapshot | undefined;
let lastLog = 0;
batch.on('progress', (p: ProgressSnapshot) => {
  last = p;
  const now = Date.now();
  if (now - lastLog >= 5000) {
    lastLog = now;
    const rss = Math.round(process.memoryUsage.rss() / 1048576);
    process.stderr.write(`[client] in ${p.recordsIn} out ${p.resultsOut} spooled ${(p.bytesSpooled / 1e6).toFixed(0)}MB rss ${rss}MB jobs ${JSON.stringify(p.jobs)}\n`);
  }
});

// BENCH_TRACE_MEM=1: memory and job state every 100 ms on stderr, to see which phase a peak belongs to.
if (process.env.BENCH_TRACE_MEM === '1') {
  const jobs: string[] = [];
  batch.on('job', (e: { chunk: number; state: string }) => jobs.push(`${e.chunk}:${e.state}`));
  const t0 = Date.now();
  setInterval(() => {
    const m = process.memoryUsage();
    const f = (n: number) => (n / 1048576).toFixed(0);
    process.stderr.write(
      `[mem] ${Date.now() - t0}ms rss ${f(m.rss)} heap ${f(m.heapUsed)}/${f(m.heapTotal)} ab ${f(m.arrayBuffers)} in ${last?.recordsIn ?? 0} out ${last?.resultsOut ?? 0} ${jobs.splice(0).join(' ')}\n`,
    );
  }, 100).unref();
}

const source = createReadStream(input, { highWaterMark: 1 << 16 });
await pipeline(
  process.env.BENCH_PARSE === '1' ? source.pipe(split2(JSON.parse)) : readJsonl(source, { name: input, raw: true }),
  batch,
  createWriteStream(output),
);
const m = stop();
report({ ...m, resultsOut: last?.resultsOut, errorsOut: last?.errorsOut, chunks: last?.chunksSpooled });
