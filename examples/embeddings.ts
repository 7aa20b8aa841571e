/**
 * Embeddings at batch price: sentences → task 'embed' → one vector per
 * sentence, in order; then a nearest-neighbour lookup over them.
 *
 *   npx tsx examples/embeddings.ts
 *
 * (Against the emulator the vectors are deterministic noise, so the
 * neighbours are arbitrary; against the real service they are meaningful.)
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { geminiBatch, type KeyedResult } from 'gemini-batch-stream';
import { openService } from './service.js';

const SENTENCES = [
  'The cat sleeps on the warm windowsill.',
  'A kitten naps in the sun.',
  'Stock markets fell sharply on Monday.',
  'Les marchés financiers ont chuté lundi.',
  'How do I bake sourdough bread?',
  'Recipe for a crusty country loaf',
  '東京の天気は明日晴れです。',
  'Tomorrow will be sunny in Tokyo.',
];

function cosine(a: number[], b: number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / (Math.sqrt(na) * Math.sqrt(nb) || 1);
}

async function main(): Promise<void> {
  const service = await openService();
  console.log(`embeddings: ${SENTENCES.length} sentences via ${service.describe}`);
  const outDir = join(import.meta.dirname, 'out');
  mkdirSync(outDir, { recursive: true });
  const outPath = join(outDir, 'embeddings.jsonl');
  const file = createWriteStream(outPath);

  const records = SENTENCES.map((text, i) => ({
    key: `s${i}`,
    request: { content: { parts: [{ text }] }, taskType: 'SEMANTIC_SIMILARITY', outputDimensionality: 256 },
  }));
  // A handful of vectors is fine to keep; for millions, write them out and index them elsewhere.
  const vectors: number[][] = [];
  const collect = new Writable({
    objectMode: true,
    write(r: KeyedResult, _enc, cb) {
      if (!('embedding' in r)) return cb(new Error(`no embedding for ${r.key}: ${'error' in r ? r.error.message : 'unexpected result'}`));
      vectors.push(r.embedding);
      file.write(`${JSON.stringify(r)}\n`, cb);
    },
  });
  try {
    await pipeline(Readable.from(records), geminiBatch({ model: 'gemini-embedding-001', task: 'embed', ...service.options }), collect);
  } finally {
    file.end();
    await service.close();
  }
  console.log(`embeddings: ${vectors.length} vectors of ${vectors[0]?.length ?? 0} dimensions → ${outPath}`);
  for (let i = 0; i < SENTENCES.length; i += 2) {
    let best = -1;
    let score = -Infinity;
    for (let j = 0; j < SENTENCES.length; j++) {
      if (j === i) continue;
      const s = cosine(vectors[i]!, vectors[j]!);
      if (s > score) [best, score] = [j, s];
    }
    console.log(`  "${SENTENCES[i]}" is closest to "${SENTENCES[best]}" (cosine ${score.toFixed(3)})`);
  }
}

main().catch((err: unknown) => {
  console.error(`embeddings failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
