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

/** Google's wording, e.g. `Invalid JSON payload received. Unknown name "config" at 'request': Cannot find field.` */
export function unknownNameMessage(name: string, at: string): string {
  return `Invalid JSON payload received. Unknown name ${JSON.stringify(name)} at '${at}': Cannot find field.`;
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
  });
  return out;
}
