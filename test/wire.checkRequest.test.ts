/**
 * wire.checkRequest: the request fields the service takes, camelCase or
 * snake_case, and the SDK's `{contents, config}` shape translated exactly as
 * the official @google/genai does it: the SDK itself builds an inline batch
 * against a loopback server here, and our translation must equal the body it
 * sends.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GoogleGenAI } from '@google/genai';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRequest, wantsImageOutput } from '../src/internal/wire/request-fields.js';

let server: Server;
let ai: GoogleGenAI;
let lastBody: unknown;

beforeAll(async () => {
  server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      lastBody = JSON.parse(Buffer.concat(parts).toString() || 'null');
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ name: 'batches/x', metadata: { name: 'batches/x', state: 'BATCH_STATE_PENDING' } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  ai = new GoogleGenAI({ apiKey: 'test-key', httpOptions: { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` } });
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** The request the SDK puts on the wire for one inlined request. */
async function sdkWire(inlined: Record<string, unknown>): Promise<unknown> {
  await ai.batches.create({ model: 'gemini-2.5-flash', src: [structuredClone(inlined) as never] });
  const body = lastBody as { batch: { inputConfig: { requests: { requests: Array<{ request: unknown }> } } } };
  return body.batch.inputConfig.requests.requests[0]!.request;
}

const text = fc.string({ maxLength: 10 });
const part = fc.oneof(text, fc.record({ text }));
const content = fc.record({ role: fc.constantFrom('user', 'model'), parts: fc.array(fc.record({ text }), { minLength: 1, maxLength: 2 }) });
const contents = fc.oneof(text, fc.array(content, { minLength: 1, maxLength: 2 }), fc.array(part, { minLength: 1, maxLength: 3 }), content);
const config = fc.record(
  {
    systemInstruction: fc.oneof(text, content, fc.array(text, { minLength: 1, maxLength: 2 })),
    temperature: fc.double({ min: 0, max: 2, noNaN: true }),
    topP: fc.double({ min: 0, max: 1, noNaN: true }),
    topK: fc.nat(40),
    maxOutputTokens: fc.nat(8192),
    stopSequences: fc.array(text, { maxLength: 2 }),
    seed: fc.integer(),
    responseMimeType: fc.constantFrom('application/json', 'text/plain'),
    responseJsonSchema: fc.constant({ type: 'object' }),
    responseModalities: fc.subarray(['TEXT', 'IMAGE']),
    thinkingConfig: fc.record({ thinkingBudget: fc.nat(1024) }),
    safetySettings: fc.array(fc.record({ category: fc.constant('HARM_CATEGORY_HARASSMENT'), threshold: fc.constant('BLOCK_NONE') }), { maxLength: 1 }),
    tools: fc.constant([{ googleSearch: {} }]),
    toolConfig: fc.constant({ functionCallingConfig: { mode: 'AUTO' } }),
    labels: fc.dictionary(fc.constantFrom('a', 'b'), text),
    cachedContent: fc.constantFrom('abc', 'cachedContents/abc'),
    speechConfig: fc.oneof(fc.constant('Kore'), fc.constant({ voiceConfig: { prebuiltVoiceConfig: { voiceName: 'Puck' } } })),
    imageConfig: fc.record({ aspectRatio: fc.constantFrom('1:1', '16:9') }),
    mediaResolution: fc.constant('MEDIA_RESOLUTION_LOW'),
    candidateCount: fc.constant(1),
    presencePenalty: fc.double({ min: -1, max: 1, noNaN: true }),
    frequencyPenalty: fc.double({ min: -1, max: 1, noNaN: true }),
    serviceTier: fc.constantFrom('standard', 'flex'),
    store: fc.boolean(),
    httpOptions: fc.constant({ timeout: 5 }),
  },
  { requiredKeys: [] },
);

describe('checkRequest: the SDK shape', () => {
  it('translates {contents, config} exactly as @google/genai does', async () => {
    await fc.assert(
      fc.asyncProperty(contents, config, async (cs, cfg) => {
        const input = { contents: cs, config: cfg };
        const ours = checkRequest(structuredClone(input));
        expect(ours.ok).toBe(true);
        if (!ours.ok) return;
        expect(ours.translated).toBe(true);
        // Compared as JSON: what goes on the wire (-0 and 0 are one number there).
        expect(JSON.parse(JSON.stringify(ours.request))).toEqual(await sdkWire(input));
      }),
      { numRuns: 60 },
    );
  });

  it('refuses what the SDK refuses and what it would silently drop', () => {
    expect(checkRequest({ contents: 'hi', config: { routingConfig: {} } })).toMatchObject({ ok: false, problem: expect.stringMatching(/config\.routingConfig is only supported on Vertex AI/) });
    expect(checkRequest({ contents: 'hi', config: { temprature: 0.3 } })).toMatchObject({ ok: false, problem: expect.stringMatching(/config\.temprature is not a field/) });
    expect(checkRequest({ contents: 'hi', config: {}, generationConfig: {} })).toMatchObject({ ok: false, problem: expect.stringMatching(/"config".*"generationConfig"/) });
    expect(checkRequest({ contents: [], config: {} })).toMatchObject({ ok: false, problem: 'contents is empty' });
  });
});

describe('checkRequest: the wire shape', () => {
  it('takes every field of GenerateContentRequest in camelCase or snake_case, unchanged', () => {
    const camel = { contents: [{ parts: [{ text: 'x' }] }], tools: [], toolConfig: {}, safetySettings: [], systemInstruction: { parts: [] }, generationConfig: {}, cachedContent: 'cachedContents/a', labels: {}, serviceTier: 'flex', store: false, model: 'models/m' };
    const snake = { contents: [{ parts: [{ text: 'x' }] }], tool_config: {}, safety_settings: [], system_instruction: { parts: [] }, generation_config: {}, cached_content: 'c', service_tier: 'flex' };
    for (const r of [camel, snake]) expect(checkRequest(r)).toEqual({ ok: true, request: r, translated: false });
  });

  it('names an unknown field, and says where generation settings go', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !/^(contents|tools|tool_?[cC]onfig|safety_?[sS]ettings|system_?[iI]nstruction|generation_?[cC]onfig|cached_?[cC]ontent|labels|service_?[tT]ier|store|model|config|__proto__)$/.test(k)), (field) => {
        const r = checkRequest(JSON.parse(`{"contents": [{"parts": []}], ${JSON.stringify(field)}: 1}`));
        expect(r.ok).toBe(false);
        expect(!r.ok && r.problem).toContain(`request.${field} `);
      }),
    );
    expect(checkRequest({ contents: [{ parts: [] }], thinking_config: {} })).toMatchObject({ ok: false, problem: expect.stringContaining('generation settings go inside generationConfig') });
    expect(checkRequest({ contents: [{ parts: [] }], temperature: 1 })).toMatchObject({ ok: false, problem: expect.stringContaining('request.temperature') });
    expect(checkRequest({ contents: [{ parts: [] }], generationConfig: {}, generation_config: {} })).toMatchObject({ ok: false, problem: 'request has both "generationConfig" and "generation_config"; keep one' });
  });

  it('ignores a field set to undefined (JSON never carries it)', () => {
    expect(checkRequest({ contents: [{ parts: [] }], foo: undefined }).ok).toBe(true);
    expect(checkRequest({ contents: 'x', config: { temperature: 1 }, systemInstruction: undefined }).ok).toBe(true);
  });

  it('checks embedding requests by their own fields', () => {
    expect(checkRequest({ content: { parts: [{ text: 'a' }] }, task_type: 'RETRIEVAL_DOCUMENT', title: 't', outputDimensionality: 8 }, 'embed').ok).toBe(true);
    expect(checkRequest({ content: { parts: [] }, contents: [] }, 'embed')).toMatchObject({ ok: false, problem: expect.stringContaining('request.contents') });
    expect(checkRequest({}, 'embed')).toMatchObject({ ok: false, problem: 'request.content is missing' });
  });
});

describe('wantsImageOutput', () => {
  it('is true when responseModalities (either spelling, either shape) holds IMAGE', () => {
    expect(wantsImageOutput({ contents: [], generationConfig: { responseModalities: ['TEXT', 'IMAGE'] } })).toBe(true);
    expect(wantsImageOutput({ contents: [], generation_config: { response_modalities: ['image'] } })).toBe(true);
    expect(wantsImageOutput({ contents: 'x', config: { responseModalities: ['IMAGE'] } })).toBe(true);
    expect(wantsImageOutput({ contents: [], generationConfig: { responseModalities: ['TEXT'] } })).toBe(false);
    expect(wantsImageOutput({ contents: [] })).toBe(false);
  });
});
