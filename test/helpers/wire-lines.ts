/**
 * Result lines as the service may write them, for the wire module's property
 * tests: the key first, last or in the middle (or only in metadata), members
 * in any order, compact or spaced like Python's json.dumps, keys with quotes,
 * backslashes, colons and non-ASCII text, and responses whose nested members
 * are named key, response, error or usageMetadata to trap a careless scan.
 */
import fc from 'fast-check';
import { wireKey } from '../../src/internal/wire/wire-key.js';

export type Layout = 'first' | 'last' | 'middle' | 'metadata';

/** JSON with `sep` after commas and colons (', ' and ': ' is the real service's style). */
export function dumps(v: unknown, spaced: boolean): string {
  const comma = spaced ? ', ' : ',';
  const colon = spaced ? ': ' : ':';
  if (Array.isArray(v)) return `[${v.map((x) => dumps(x, spaced)).join(comma)}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .map(([k, x]) => `${JSON.stringify(k)}${colon}${dumps(x, spaced)}`)
      .join(comma)}}`;
  }
  return JSON.stringify(v);
}

const trickyChar = fc.constantFrom('"', '\\', ':', 'a', 'é', '東', '\n', '\u2028', '}', ' ', '😀', '\t', '{', ',');
export const userKey = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 12 }), fc.string({ unit: trickyChar, maxLength: 12 }));
const trickyName = fc.constantFrom('key', 'response', 'error', 'usageMetadata', 'text', 'x');
const leaf = fc.oneof(fc.string({ unit: trickyChar, maxLength: 8 }), fc.integer(), fc.boolean(), fc.constant(null), fc.constant('7:k'));
const nested = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('object'), fc.array(tie('value'), { maxLength: 3 })),
  object: fc.dictionary(fc.oneof(trickyName, fc.string({ maxLength: 5 })), tie('value'), { maxKeys: 4 }),
})).object as fc.Arbitrary<Record<string, unknown>>;

export const usage = fc.record(
  {
    promptTokenCount: fc.nat(1e6),
    candidatesTokenCount: fc.nat(1e6),
    thoughtsTokenCount: fc.nat(1e6),
    cachedContentTokenCount: fc.nat(1e6),
    totalTokenCount: fc.nat(3e6),
    promptTokensDetails: fc.array(fc.record({ modality: fc.constantFrom('TEXT', 'IMAGE', 'AUDIO'), tokenCount: fc.nat(1e6) }), { maxLength: 3 }),
  },
  { requiredKeys: [] },
);

/** A GenerateContentResponse with its members in a drawn order, usageMetadata maybe absent. */
export const response = fc
  .tuple(fc.string({ unit: trickyChar, maxLength: 20 }), fc.option(usage, { nil: undefined }), nested, fc.boolean())
  .map(([text, u, extra, usageFirst]) => {
    const candidates = [{ content: { role: 'model', parts: [{ text }] }, finishReason: 'STOP', extra }];
    return usageFirst ? { usageMetadata: u, candidates, modelVersion: 'm' } : { candidates, modelVersion: 'm', usageMetadata: u };
  });

export const rpcError = fc.record({
  code: fc.oneof(fc.integer({ min: 0, max: 16 }), fc.constantFrom(400, 429, 500, 503)),
  message: fc.string({ unit: trickyChar, maxLength: 20 }),
});

export interface ResultLineCase {
  seq: number;
  userKey: string;
  kind: 'response' | 'error';
  body: Record<string, unknown>;
  layout: Layout;
  spaced: boolean;
  line: Buffer;
}

export const resultLine: fc.Arbitrary<ResultLineCase> = fc
  .record({
    seq: fc.nat(1e12),
    userKey,
    body: fc.oneof(response.map((r) => ({ response: r as Record<string, unknown> })), rpcError.map((e) => ({ error: e as Record<string, unknown> }))),
    layout: fc.constantFrom<Layout>('first', 'last', 'middle', 'metadata'),
    spaced: fc.boolean(),
    tail: fc.constantFrom('', '\r', ' '),
  })
  .map(({ seq, userKey: k, body, layout, spaced, tail }) => {
    const key = wireKey(seq, k);
    const kind = 'response' in body ? 'response' : 'error';
    const value = (body as Record<string, unknown>)[kind];
    const obj =
      layout === 'first'
        ? { key, [kind]: value }
        : layout === 'last'
          ? { [kind]: value, key }
          : layout === 'middle'
            ? { [kind]: value, key, status: 'x' }
            : { [kind]: value, metadata: { key } };
    return { seq, userKey: k, kind, body: { [kind]: value }, layout, spaced, line: Buffer.from(dumps(obj, spaced) + tail) } as ResultLineCase;
  });
