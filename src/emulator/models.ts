/**
 * The models the service answers to (PROTOCOL.md, "Prices, models and request
 * storage", December 2026). A create naming any other model, a retired one
 * (gemini-2.0-*, text-embedding-004) or a model of the other kind (an
 * embedding model for batchGenerateContent) is answered 404 NOT_FOUND as the
 * service answers it; the `anyModel` option lets tests use made-up names.
 */
import type { Task } from './batch.js';
import { HttpError } from './wire.js';

/** Generation models; retired names the service routes silently (3.5/3.7 Flash) still answer. */
const GENERATE = [
  'gemini-2.5-flash',
  'gemini-2.5-flash-lite',
  'gemini-2.5-pro',
  'gemini-3-flash-preview',
  'gemini-3.1-pro-preview',
  'gemini-3.1-flash-lite',
  'gemini-3.5-flash',
  'gemini-3.5-flash-lite',
  'gemini-3.6-flash',
  'gemini-3.7-flash',
  'gemini-3.8-flash',
];

/** Embedding models and their default (and largest) output dimensionality. */
const EMBED_DIMENSIONS: Readonly<Record<string, number>> = {
  'gemini-embedding-001': 3072,
  'gemini-embedding-2': 3072,
};

/** A made-up model name (anyModel) that embeds gets the gemini-embedding-* size. */
const DEFAULT_DIMENSIONS = 3072;

function bare(model: string): string {
  return model.replace(/^models\//, '');
}

/** A known name, or a known name with a version suffix (gemini-2.5-flash-preview-09-2025, gemini-2.5-flash-001). */
function family(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const k of known) if ((name === k || name.startsWith(`${k}-`)) && (!best || k.length > best.length)) best = k;
  return best;
}

/** Throws the service's 404 unless `model` can run `task` (tuned models and anyModel always can). */
export function checkModel(model: string, task: Task, anyModel: boolean): void {
  if (anyModel || model.startsWith('tunedModels/')) return;
  const name = bare(model);
  const ok = task === 'embed' ? family(name, Object.keys(EMBED_DIMENSIONS)) !== undefined : family(name, GENERATE) !== undefined;
  if (ok) return;
  const method = task === 'embed' ? 'asyncBatchEmbedContent' : 'batchGenerateContent';
  throw new HttpError(
    404,
    `models/${name} is not found for API version v1beta, or is not supported for ${method}. ` +
      'Call ListModels to see the list of available models and their supported methods.',
    { status: 'NOT_FOUND' },
  );
}

/** The embedding size of `model`: its default, or `requested` (outputDimensionality) up to that. */
export function embeddingDimensions(model: string, requested: unknown): number {
  const max = EMBED_DIMENSIONS[family(bare(model), Object.keys(EMBED_DIMENSIONS)) ?? ''] ?? DEFAULT_DIMENSIONS;
  return typeof requested === 'number' && requested >= 1 ? Math.min(Math.floor(requested), max) : max;
}
