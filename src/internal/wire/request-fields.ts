/**
 * Requests are checked before anything is uploaded, because the service
 * checks them strictly (PROTOCOL.md): a field GenerateContentRequest does not
 * have fails that line of a file batch and the whole create of an inline one
 * ("Invalid JSON payload received. Unknown name ..."). Both camelCase and
 * snake_case field names are accepted, as the service accepts both.
 *
 * The official JS SDK's shape `{contents, config: {...}}` is not the wire
 * shape; it is translated here the way @google/genai translates an inlined
 * batch request (inlinedRequestToMldev + generateContentConfigToMldev):
 * systemInstruction, tools, toolConfig, safetySettings, cachedContent,
 * labels, serviceTier, continuationToken and store go to the request, the
 * rest of config into generationConfig; Vertex-only settings are refused
 * as the SDK refuses them; the SDK's client-side settings (httpOptions,
 * abortSignal, automaticFunctionCalling, automaticContinuation) are dropped
 * as the SDK drops them. Two differences, on purpose: an unknown config key
 * is refused (the SDK drops it silently: a typo such as `temprature` would
 * cost a whole batch at the wrong settings), and schemas (responseSchema,
 * function declarations) go as given (the SDK rewrites some JSON-Schema
 * forms; the service takes the given ones).
 */

type Obj = Record<string, unknown>;

export type RequestTask = 'generate' | 'embed';

/** The outcome of checking one request: the request to send, or what is wrong with it. */
export type RequestCheck = { ok: true; request: Obj; translated: boolean } | { ok: false; problem: string };

const GENERATE_FIELDS = new Map<string, string>([
  ['contents', 'contents'],
  ['tools', 'tools'],
  ['toolConfig', 'toolConfig'],
  ['tool_config', 'toolConfig'],
  ['safetySettings', 'safetySettings'],
  ['safety_settings', 'safetySettings'],
  ['systemInstruction', 'systemInstruction'],
  ['system_instruction', 'systemInstruction'],
  ['generationConfig', 'generationConfig'],
  ['generation_config', 'generationConfig'],
  ['cachedContent', 'cachedContent'],
  ['cached_content', 'cachedContent'],
  ['labels', 'labels'],
  ['serviceTier', 'serviceTier'],
  ['service_tier', 'serviceTier'],
  ['store', 'store'],
  // The SDK sets it on inlined requests (request.model); the service accepts it.
  ['model', 'model'],
]);

const EMBED_FIELDS = new Map<string, string>([
  ['content', 'content'],
  ['taskType', 'taskType'],
  ['task_type', 'taskType'],
  ['title', 'title'],
  ['outputDimensionality', 'outputDimensionality'],
  ['output_dimensionality', 'outputDimensionality'],
  ['model', 'model'],
]);

/** The canonical (camelCase) name of a GenerateContentRequest field, undefined for an unknown one. */
export function generateFieldName(name: string): string | undefined {
  return GENERATE_FIELDS.get(name);
}

/** GenerateContentConfig keys the SDK moves to generationConfig (as they are). */
const TO_GENERATION_CONFIG = new Set([
  'temperature',
  'topP',
  'topK',
  'candidateCount',
  'maxOutputTokens',
  'stopSequences',
  'responseLogprobs',
  'logprobs',
  'presencePenalty',
  'frequencyPenalty',
  'seed',
  'responseMimeType',
  'responseSchema',
  'responseJsonSchema',
  'responseModalities',
  'mediaResolution',
  'speechConfig',
  'thinkingConfig',
  'audioTranscriptionConfig',
  'imageConfig',
  'enableEnhancedCivicAnswers',
]);
/** GenerateContentConfig keys the SDK moves to the request itself. */
const TO_REQUEST = new Set([
  'serviceTier',
  'systemInstruction',
  'safetySettings',
  'tools',
  'toolConfig',
  'labels',
  'cachedContent',
  'continuationToken',
  'store',
]);
/** Client-side settings of the SDK: never sent. */
const SDK_LOCAL = new Set(['httpOptions', 'abortSignal', 'automaticFunctionCalling', 'automaticContinuation']);
/** The SDK refuses these outside Vertex AI. */
const VERTEX_ONLY = new Set(['routingConfig', 'modelSelectionConfig', 'audioTimestamp', 'modelArmorConfig', 'generationOutputConfig']);

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Problems are thrown inside the translation and caught once in checkRequest. */
class Problem extends Error {}

/** The SDK's tPart: a string becomes a text part. */
function toPart(p: unknown): unknown {
  if (p === null || p === undefined) throw new Problem('a part is null');
  if (typeof p === 'string') return { text: p };
  if (typeof p === 'object') return p;
  throw new Problem(`a part must be an object or a string, got ${typeof p}`);
}

const isContent = (v: unknown): v is Obj => isObj(v) && Array.isArray(v.parts);

/** The SDK's tContent + contentToMldev: a Content keeps only parts and role. */
function toContent(v: unknown): Obj {
  if (v === null || v === undefined) throw new Problem('a Content is null');
  if (isContent(v)) {
    const out: Obj = { parts: v.parts };
    if (v.role != null) out.role = v.role;
    return out;
  }
  if (Array.isArray(v)) {
    if (v.length === 0) throw new Problem('a Content has no parts');
    return { role: 'user', parts: v.map(toPart) };
  }
  return { role: 'user', parts: [toPart(v)] };
}

/** The SDK's tContents: a string, a part, a Content, or a list of either (not mixed). */
function toContents(v: unknown): Obj[] {
  if (v === null || v === undefined || (Array.isArray(v) && v.length === 0)) throw new Problem('contents is empty');
  if (!Array.isArray(v)) {
    if (isObj(v) && ('functionCall' in v || 'functionResponse' in v)) {
      throw new Problem('functionCall and functionResponse parts must be wrapped in a Content with a role');
    }
    return [toContent(v)];
  }
  const contents: Obj[] = [];
  const parts: unknown[] = [];
  const asContents = isContent(v[0]);
  for (const item of v) {
    if (isContent(item) !== asContents) throw new Problem('contents mixes Content objects and parts; group the parts into Contents with a role');
    if (asContents) contents.push(toContent(item));
    else {
      if (isObj(item) && ('functionCall' in item || 'functionResponse' in item)) {
        throw new Problem('functionCall and functionResponse parts must be wrapped in a Content with a role');
      }
      parts.push(toPart(item));
    }
  }
  if (!asContents) contents.push({ role: 'user', parts });
  return contents;
}

function pick(o: unknown, keys: string[], vertexOnly: string[], where: string): Obj {
  if (!isObj(o)) return o as Obj;
  for (const k of vertexOnly) {
    if (o[k] !== undefined) throw new Problem(`config.${where}.${k} is only supported on Vertex AI, not by the Gemini API`);
  }
  const out: Obj = {};
  for (const k of keys) if (o[k] != null) out[k] = o[k];
  return out;
}

function translateConfigValue(k: string, v: unknown): unknown {
  switch (k) {
    case 'systemInstruction':
      return toContent(v);
    case 'cachedContent':
      if (typeof v !== 'string') throw new Problem('config.cachedContent must be a string');
      return !v.startsWith('cachedContents/') && v.split('/').length === 1 ? `cachedContents/${v}` : v;
    case 'speechConfig':
      if (typeof v === 'string') return { voiceConfig: { prebuiltVoiceConfig: { voiceName: v } } };
      if (typeof v !== 'object') throw new Problem(`config.speechConfig must be an object or a voice name, got ${typeof v}`);
      return v;
    case 'safetySettings':
      return Array.isArray(v) ? v.map((s) => pick(s, ['category', 'threshold'], ['method'], 'safetySettings')) : v;
    case 'imageConfig':
      return pick(
        v,
        ['aspectRatio', 'imageSize'],
        ['personGeneration', 'outputMimeType', 'outputCompressionQuality', 'imageOutputOptions', 'prominentPeople'],
        'imageConfig',
      );
    case 'toolConfig':
      return pick(v, ['functionCallingConfig', 'retrievalConfig', 'includeServerSideToolInvocations'], [], 'toolConfig');
    case 'tools':
      if (!Array.isArray(v)) throw new Problem('config.tools must be an array of Tools');
      return v;
    default:
      return v;
  }
}

/** `{contents, config}` (the SDK's shape) → the wire's GenerateContentRequest. */
function translateSdkShape(r: Obj): Obj {
  for (const k of Object.keys(r)) {
    if (r[k] !== undefined && k !== 'contents' && k !== 'config' && k !== 'model') {
      throw new Problem(`request has both "config" (the SDK's shape) and "${k}"; put ${k} inside config, or write the request in the wire shape (generationConfig)`);
    }
  }
  const out: Obj = {};
  if (r.model != null) out.model = r.model;
  if (r.contents != null) out.contents = toContents(r.contents);
  const config = r.config;
  if (config == null) return out;
  if (!isObj(config)) throw new Problem('request.config must be an object');
  const generationConfig: Obj = {};
  for (const [k, v] of Object.entries(config)) {
    if (VERTEX_ONLY.has(k)) {
      if (v !== undefined) throw new Problem(`config.${k} is only supported on Vertex AI, not by the Gemini API`);
      continue;
    }
    if (SDK_LOCAL.has(k) || v == null) continue;
    if (TO_REQUEST.has(k)) out[k] = translateConfigValue(k, v);
    else if (TO_GENERATION_CONFIG.has(k)) generationConfig[k] = translateConfigValue(k, v);
    else throw new Problem(unknownMessage(`config.${k}`, k, 'config'));
  }
  out.generationConfig = generationConfig;
  return out;
}

const snakeToCamel = (s: string) => s.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());

function unknownMessage(path: string, name: string, where: 'request' | 'config'): string {
  const camel = snakeToCamel(name);
  if (where === 'request' && TO_GENERATION_CONFIG.has(camel)) {
    return `${path} is not a field of the request (the service refuses it): generation settings go inside generationConfig`;
  }
  if (where === 'request' && name === 'config') {
    return `${path} is the SDK's shape, which embedding requests do not take: put taskType, title and outputDimensionality in the request itself`;
  }
  return `${path} is not a field the service knows; remove it or fix its name`;
}

/**
 * Check one request (and translate the SDK's config shape). Nested values
 * are the service's business; the top-level field names, the one mistake
 * that fails a whole inline batch, are ours.
 */
export function checkRequest(request: unknown, task: RequestTask = 'generate'): RequestCheck {
  if (!isObj(request)) return { ok: false, problem: `"request" must be an object, got ${describe(request)}` };
  let r = request;
  let translated = false;
  try {
    if (task === 'generate' && r.config !== undefined) {
      r = translateSdkShape(r);
      translated = true;
    }
    const fields = task === 'embed' ? EMBED_FIELDS : GENERATE_FIELDS;
    const seen = new Map<string, string>();
    for (const k of Object.keys(r)) {
      if (r[k] === undefined) continue; // JSON.stringify drops it: never on the wire
      const canonical = fields.get(k);
      if (canonical === undefined) throw new Problem(unknownMessage(`request.${k}`, k, 'request'));
      const other = seen.get(canonical);
      if (other !== undefined) throw new Problem(`request has both "${other}" and "${k}"; keep one`);
      seen.set(canonical, k);
    }
  } catch (err) {
    if (err instanceof Problem) return { ok: false, problem: err.message };
    throw err;
  }
  const shape = task === 'embed' ? embedShape(r) : generateShape(r);
  return shape ? { ok: false, problem: shape } : { ok: true, request: r, translated };
}

function generateShape(r: Obj): string | undefined {
  if (!Array.isArray(r.contents)) return 'request.contents must be an array of Content';
  if (r.contents.length === 0) return 'request.contents is empty';
  return undefined;
}

function embedShape(r: Obj): string | undefined {
  if (!isObj(r.content)) return 'request.content is missing';
  if (!Array.isArray(r.content.parts)) return 'request.content.parts must be an array';
  return undefined;
}

/** Whether a request asks for images back (responseModalities with IMAGE): mode 'auto' sends those as files. */
export function wantsImageOutput(request: unknown): boolean {
  if (!isObj(request)) return false;
  const gc = request.generationConfig ?? request.generation_config ?? request.config;
  if (!isObj(gc)) return false;
  const m = gc.responseModalities ?? gc.response_modalities;
  return Array.isArray(m) && m.some((x) => typeof x === 'string' && x.toUpperCase() === 'IMAGE');
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)?.slice(0, 40)}`;
}
