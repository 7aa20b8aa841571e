/**
 * `npm start`: a few thousand prompts through the Gemini Batch API, one
 * result per prompt, in order, written to examples/out/quickstart.results.jsonl.
 *
 * With no GEMINI_API_KEY it runs against the embedded emulator in seconds.
 * With a key it uses the real service at batch price (half the interactive
 * price); it prints the most it can cost first. Real batches can take minutes
 * to hours.
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { estimateChunkCost, geminiBatch, type GenerateContentResponse, type JobEvent, type KeyedResult } from 'gemini-batch-stream';
import { openService } from './service.js';

const MODEL = 'gemini-2.5-flash-lite';
const RECORDS = 3000;
const MAX_OUTPUT_TOKENS = 64;
const OUT_DIR = join(import.meta.dirname, 'out');
const OUT = join(OUT_DIR, 'quickstart.results.jsonl');

const TOPICS = ['the tides', 'photosynthesis', 'la Révolution française', 'Tōkyō train etiquette', 'the number π', 'Ελληνική φιλοσοφία', 'jazz in São Paulo', 'black holes', 'Zürich in winter', 'why the sky is blue'];

function* prompts(): Generator<{ key: string; request: Record<string, unknown> }> {
  for (let i = 0; i < RECORDS; i++) {
    const topic = TOPICS[i % TOPICS.length]!;
    yield {
      key: `q${i}`,
      request: {
        contents: [{ role: 'user', parts: [{ text: `In one sentence (#${i}), explain ${topic}.` }] }],
        generationConfig: { maxOutputTokens: MAX_OUTPUT_TOKENS, temperature: 0.2 },
      },
    };
  }
}

/** The most this run can cost: ~4 characters a token in, every answer at its token cap out. */
function costCeiling(): string {
  let chars = 0;
  for (const p of prompts()) chars += JSON.stringify(p.request.contents).length;
  const cost = estimateChunkCost({ inputTokens: chars / 4, requests: RECORDS, outputTokens: RECORDS * MAX_OUTPUT_TOKENS }, MODEL)!;
  return `$${cost.high!.toFixed(4)}`;
}

function answerText(response: GenerateContentResponse): string | undefined {
  return response.candidates?.[0]?.content?.parts?.[0]?.text;
}

async function main(): Promise<void> {
  const service = await openService();
  console.log(`gemini-batch quickstart: ${RECORDS} prompts to ${MODEL} via ${service.describe}`);
  if (service.real) console.log(`At batch price this costs at most ${costCeiling()}. Batch jobs can take a while to finish.`);
  mkdirSync(OUT_DIR, { recursive: true });

  const started = Date.now();
  const batches = new Set<string>();
  let ok = 0;
  let errors = 0;
  let firstAnswer: string | undefined;
  const gb = geminiBatch({ model: MODEL, ...service.options, maxRequestsPerBatch: 1000 });
  gb.on('job', (e: JobEvent) => {
    if (e.batchName) batches.add(e.batchName);
  });
  const toLines = new Transform({
    writableObjectMode: true,
    transform(r: KeyedResult, _enc, cb) {
      if ('error' in r) errors++;
      else ok++;
      firstAnswer ??= 'response' in r ? answerText(r.response) : undefined;
      cb(null, `${JSON.stringify(r)}\n`);
    },
  });
  try {
    await pipeline(Readable.from(prompts()), gb, toLines, createWriteStream(OUT));
  } finally {
    await service.close();
  }
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`done: ${ok + errors} results (${ok} ok, ${errors} errors) from ${batches.size} batches in ${secs} s`);
  if (firstAnswer) console.log(`first answer: ${firstAnswer}`);
  console.log(`results: ${OUT}`);
}

main().catch((err: unknown) => {
  console.error(`quickstart failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
