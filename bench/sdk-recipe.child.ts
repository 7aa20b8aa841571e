/**
 * The official SDK recipe, as the Gemini Batch API docs write it with
 * @google/genai: upload the JSONL, create one batch from the file, poll
 * `batches.get` until the job is done, `files.download` the responses file,
 * read it whole, JSON.parse each line and join the answers to the requests
 * by key. The requests are held in memory too (the docs build the JSONL from
 * an in-memory list and match answers back to it). Writes one
 * `{"key","response"|"error"}` line per request, in input order, like the CLI.
 *   node bench/sdk-recipe.child.ts RESULT_JSON INPUT OUTPUT BASE_URL POLL_MS WORK_DIR
 *
 * It reads each file into one string, which V8 caps at 2^29-24 characters
 * (~512 MiB): that is where this recipe stops (ERR_STRING_TOO_LONG).
 */
import { createWriteStream, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { GoogleGenAI } from '@google/genai';
import { report, startMeasure } from './lib/measure.js';

const [, , , input, output, baseUrl, pollMs = '100', workDir] = process.argv;
if (!input || !output || !baseUrl || !workDir) throw new Error('usage: sdk-recipe.child.ts RESULT INPUT OUTPUT BASE_URL POLL_MS WORK_DIR');

const stop = startMeasure();
// Seconds since start at the end of each step, to see where the recipe's wall goes.
const t0 = performance.now();
const phasesS: Record<string, number> = {};
const phase = (name: string) => (phasesS[name] = Math.round(performance.now() - t0) / 1e3);
const ai = new GoogleGenAI({ apiKey: 'bench', httpOptions: { baseUrl } });

interface RequestLine {
  key: string;
  request: unknown;
}
const requests = readFileSync(input, 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as RequestLine);
phase('readRequests');

const uploaded = await ai.files.upload({ file: input, config: { displayName: 'bench-requests', mimeType: 'jsonl' } });
phase('upload');
let job = await ai.batches.create({ model: 'gemini-2.5-flash', src: uploaded.name!, config: { displayName: 'bench-sdk-recipe' } });
const done = new Set(['JOB_STATE_SUCCEEDED', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED', 'JOB_STATE_EXPIRED']);
while (!done.has(job.state ?? '')) {
  await sleep(Number(pollMs));
  job = await ai.batches.get({ name: job.name! });
}
if (job.state !== 'JOB_STATE_SUCCEEDED' || !job.dest?.fileName) throw new Error(`batch ended ${job.state}`);
phase('createAndPoll');

const downloadPath = join(workDir, 'sdk-recipe-responses.jsonl');
await ai.files.download({ file: job.dest.fileName, downloadPath });
phase('download');

// Join by key: every answer parsed into a map, then written in request order.
const answers = new Map<string, Record<string, unknown>>();
// The shape of the service's lines, for the report (the bench checks they are key-last).
let sampleLine = '';
for (const line of readFileSync(downloadPath, 'utf8').split('\n')) {
  if (line.trim() === '') continue;
  if (!sampleLine) sampleLine = line.length > 120 ? `${line.slice(0, 60)}...${line.slice(-40)}` : line;
  const r = JSON.parse(line) as Record<string, unknown> & { key: string };
  answers.set(r.key, r);
}
phase('parseResults');
rmSync(downloadPath, { force: true });
await ai.files.delete({ name: uploaded.name! });

const out = createWriteStream(output);
let batch: string[] = [];
let missing = 0;
for (const { key } of requests) {
  const a = answers.get(key);
  if (!a) missing++;
  batch.push(
    JSON.stringify(a?.response !== undefined ? { key, response: a.response } : { key, error: a?.error ?? { status: 'MISSING_RESULT' } }),
  );
  if (batch.length === 1000) {
    if (!out.write(batch.join('\n') + '\n')) await once(out, 'drain');
    batch = [];
  }
}
if (batch.length) out.write(batch.join('\n') + '\n');
out.end();
await once(out, 'close');
phase('joinAndWrite');
report({ ...stop(), records: requests.length, missing, sampleLine, phasesS });
