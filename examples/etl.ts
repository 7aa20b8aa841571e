/**
 * ETL: a CSV of products → one prompt per row (toRequest) → Gemini batch →
 * each answer joined back to its row → a JSONL of enriched rows.
 *
 *   npx tsx examples/etl.ts [products.csv]
 *
 * The join needs no lookup table: results come back one per record, in input
 * order, with the record's key, so a second pass over the CSV lines up with
 * them row by row. Memory stays flat however big the CSV is.
 */
import { createWriteStream, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { geminiBatch, type KeyedResult } from 'gemini-batch-stream';
import { csvField, readCsv } from './csv.js';
import { openService } from './service.js';

type Product = Record<string, string>;

const OUT_DIR = join(import.meta.dirname, 'out');

/** A sample catalogue when no CSV is given. */
function sampleCsv(path: string): void {
  const items = ['kettle', 'café grinder', 'rain jacket', 'desk lamp', 'Schreibtischstuhl', 'yoga mat', 'bento box', 'trail shoes'];
  const rows = ['id,name,description'];
  for (let i = 0; i < 400; i++) {
    const item = items[i % items.length]!;
    rows.push([`p${i}`, `${item} #${i}`, `A ${item}, model ${i}, "built to last", ${i % 3 === 0 ? 'eco' : 'classic'} line`].map(csvField).join(','));
  }
  writeFileSync(path, `${rows.join('\n')}\n`);
}

const toRequest = (p: Product) => ({
  key: p.id,
  request: {
    contents: [{ role: 'user', parts: [{ text: `Write a catchy one-line tagline for this product.\nName: ${p.name}\nDescription: ${p.description}` }] }],
    generationConfig: { maxOutputTokens: 40, temperature: 0.7 },
  },
});

function taglineOf(r: KeyedResult): { tagline?: string; error?: string } {
  if ('error' in r) return { error: `${r.error.status}: ${r.error.message}` };
  if (!('response' in r)) return { error: 'no text in the answer' };
  const candidates = r.response.candidates;
  const text = candidates?.[0]?.content?.parts?.map((p) => p.text ?? '').join('').trim();
  return text ? { tagline: text } : { error: 'empty answer' };
}

async function main(): Promise<void> {
  mkdirSync(OUT_DIR, { recursive: true });
  const csv = process.argv[2] ?? join(OUT_DIR, 'products.csv');
  if (!process.argv[2] && !existsSync(csv)) sampleCsv(csv);
  const outPath = join(OUT_DIR, 'products.enriched.jsonl');

  const service = await openService();
  console.log(`etl: ${csv} → ${service.describe}`);
  const results = geminiBatch<Product>({ model: 'gemini-2.5-flash-lite', ...service.options, toRequest, onInvalid: 'emit' });
  // A read error must reach the results stream, which pipe() alone would not do.
  Readable.from(readCsv(csv))
    .on('error', (err) => results.destroy(err))
    .pipe(results);

  const out = createWriteStream(outPath);
  const rows = readCsv(csv); // the second pass, for the join
  let n = 0;
  let failed = 0;
  try {
    for await (const result of results as AsyncIterable<KeyedResult>) {
      const { value: row } = await rows.next();
      if (!row || row.id !== result.key) throw new Error(`join out of step at row ${n}: ${row?.id} vs ${result.key}`);
      const enriched = { ...row, ...taglineOf(result) };
      if (enriched.error) failed++;
      if (!out.write(`${JSON.stringify(enriched)}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
      n++;
    }
  } finally {
    out.end();
    await service.close();
  }
  console.log(`etl: ${n} rows enriched (${failed} without a tagline) → ${outPath}`);
}

main().catch((err: unknown) => {
  console.error(`etl failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
