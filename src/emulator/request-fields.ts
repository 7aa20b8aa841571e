/**
 * The service checks request bodies against their proto: a field the message
 * does not have is refused ("Invalid JSON payload received. Unknown name ..."),
 * for an inline create the whole create, for a file batch that line.
 * Both the camelCase and the snake_case spelling of a field are accepted.
 */
import type { Task } from './batch.js';
import { isRecord } from './wire.js';

const snake = (s: string): string => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const withSnake = (names: string[]): ReadonlySet<string> => new Set(names.flatMap((n) => [n, snake(n)]));

/**
 * GenerateContentRequest. `model` is a field of the proto too (the interactive
 * call fills it from the URL), so a request carrying it parses.
 */
export const GENERATE_FIELDS = withSnake([
  'model',
  'contents',
  'tools',
  'toolConfig',
  'safetySettings',
  'systemInstruction',
  'generationConfig',
  'cachedContent',
  'labels',
  'serviceTier',
  'store',
]);

/** GenerationConfig (what @google/genai moves into it from `config`, plus the proto's enableAffectiveDialog). */
export const GENERATION_CONFIG_FIELDS = withSnake([
  'stopSequences',
  'responseMimeType',
  'responseSchema',
  'responseJsonSchema',
  'responseModalities',
  'candidateCount',
  'maxOutputTokens',
  'temperature',
  'topP',
  'topK',
  'seed',
  'presencePenalty',
  'frequencyPenalty',
  'responseLogprobs',
  'logprobs',
  'enableEnhancedCivicAnswers',
  'speechConfig',
  'thinkingConfig',
  'imageConfig',
  'mediaResolution',
  'audioTranscriptionConfig',
  'enableAffectiveDialog',
]);

/** GenerateContentBatch / EmbedContentBatch as a create may send it (output-only fields parse too). */
export const BATCH_FIELDS = withSnake([
  'model',
  'name',
  'displayName',
  'inputConfig',
  'output',
  'createTime',
  'endTime',
  'updateTime',
  'batchStats',
  'state',
  'priority',
  'webhookConfig',
]);

export const INPUT_CONFIG_FIELDS = withSnake(['fileName', 'requests']);

/** EmbedContentRequest. */
export const EMBED_FIELDS = withSnake(['model', 'content', 'taskType', 'title', 'outputDimensionality']);

/** InlinedRequest / InlinedEmbedContentRequest: an item of inputConfig.requests.requests. */
export const INLINE_ITEM_FIELDS: ReadonlySet<string> = new Set(['request', 'metadata']);

/** The first field of `obj` not in `allowed`, or undefined. */
export function unknownField(obj: unknown, allowed: ReadonlySet<string>): string | undefined {
  if (!isRecord(obj)) return undefined;
  for (const k of Object.keys(obj)) if (!allowed.has(k)) return k;
  return undefined;
}

export function requestFields(task: Task): ReadonlySet<string> {
  return task === 'embed' ? EMBED_FIELDS : GENERATE_FIELDS;
}

/**
 * The first unknown field of a request, generationConfig included, as
 * [name, path below the request] (e.g. ["systemInstruction", "generation_config"]).
 */
export function unknownRequestField(task: Task, request: Record<string, unknown>): [string, string] | undefined {
  const top = unknownField(request, requestFields(task));
  if (top !== undefined) return [top, ''];
  if (task === 'generate') {
    const gc = request.generationConfig ?? request.generation_config;
    const inner = unknownField(gc, GENERATION_CONFIG_FIELDS);
    if (inner !== undefined) return [inner, 'generation_config'];
  }
  return undefined;
}

/** Google's wording, e.g. `Invalid JSON payload received. Unknown name "config" at 'request': Cannot find field.` */
export function unknownNameMessage(name: string, at: string): string {
  const where = at === '' ? '' : ` at '${at}'`;
  return `Invalid JSON payload received. Unknown name ${JSON.stringify(name)}${where}: Cannot find field.`;
}

export interface FieldViolation {
  field: string;
  description: string;
}

/**
 * Every unknown field of an inline create's items (the create is refused as a
 * whole when there is any), as google.rpc.BadRequest field violations.
 */
export function inlineViolations(task: Task, items: unknown[]): FieldViolation[] {
  const out: FieldViolation[] = [];
  const allowed = requestFields(task);
  items.forEach((item, i) => {
    const itemAt = `batch.input_config.requests.requests[${i}]`;
    if (!isRecord(item)) return;
    for (const k of Object.keys(item)) {
      if (!INLINE_ITEM_FIELDS.has(k)) out.push({ field: itemAt, description: unknownNameMessage(k, itemAt) });
    }
    const req = item.request;
    if (!isRecord(req)) return;
    const at = `${itemAt}.request`;
    for (const k of Object.keys(req)) {
      if (!allowed.has(k)) out.push({ field: at, description: unknownNameMessage(k, at) });
    }
    const gc = task === 'generate' ? (req.generationConfig ?? req.generation_config) : undefined;
    if (isRecord(gc)) {
      const gcAt = `${at}.generation_config`;
      for (const k of Object.keys(gc)) {
        if (!GENERATION_CONFIG_FIELDS.has(k)) out.push({ field: gcAt, description: unknownNameMessage(k, gcAt) });
      }
    }
  });
  return out;
}

/** Unknown fields of the create body around the requests: the body, batch, inputConfig, requests. */
export function createViolations(body: Record<string, unknown>): FieldViolation[] {
  const out: FieldViolation[] = [];
  const check = (obj: unknown, allowed: ReadonlySet<string>, at: string): void => {
    if (!isRecord(obj)) return;
    for (const k of Object.keys(obj)) if (!allowed.has(k)) out.push({ field: at, description: unknownNameMessage(k, at) });
  };
  check(body, new Set(['batch']), '');
  const batch = body.batch;
  check(batch, BATCH_FIELDS, 'batch');
  if (!isRecord(batch)) return out;
  const ic = batch.inputConfig ?? batch.input_config;
  check(ic, INPUT_CONFIG_FIELDS, 'batch.input_config');
  if (isRecord(ic) && isRecord(ic.requests)) check(ic.requests, new Set(['requests']), 'batch.input_config.requests');
  return out;
}
