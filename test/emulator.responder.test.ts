/** The default responder's promises (deterministic, cheap, shaped like the real answers) and the pluggable one. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { defaultResponder, startEmulator } from '../src/emulator/index.js';
import { call, waitDone } from './emulator.helpers.js';

const gen = { model: 'models/gemini-2.5-flash', task: 'generate' as const, key: 'k' };
const ask = (text: string, extra: Record<string, unknown> = {}) => ({
  contents: [{ role: 'user', parts: [{ text }] }],
  ...extra,
});
type Gen = { candidates: { content: { parts: { text?: string; inlineData?: { mimeType: string; data: string } }[] } }[]; usageMetadata: Record<string, number>; modelVersion: string };

describe('default responder', () => {
  it('echoes the last user text with a hash, the same way every time', () => {
    const a = defaultResponder(ask('hello there'), gen) as { response: Gen };
    const b = defaultResponder(ask('hello there'), gen) as { response: Gen };
    const c = defaultResponder(ask('hello where'), gen) as { response: Gen };
    expect(a).toEqual(b);
    expect(a.response.candidates[0]!.content.parts[0]!.text).toMatch(/^echo: hello there #[0-9a-f]{8}$/);
    expect(c.response.candidates[0]!.content.parts[0]!.text).not.toBe(a.response.candidates[0]!.content.parts[0]!.text);
    const u = a.response.usageMetadata;
    // 2.5 Flash thinks: thought tokens count in the total (and are billed as output).
    expect(u.thoughtsTokenCount).toBeGreaterThan(0);
    expect(u.totalTokenCount).toBe(u.promptTokenCount! + u.candidatesTokenCount! + u.thoughtsTokenCount!);
    expect(a.response.modelVersion).toBe('gemini-2.5-flash');
  });

  it('adds a ~1 MB deterministic PNG part when IMAGE output is asked for', () => {
    const r = defaultResponder(ask('a cat', { generationConfig: { responseModalities: ['TEXT', 'IMAGE'] } }), gen) as { response: Gen };
    const img = r.response.candidates[0]!.content.parts[1]!.inlineData!;
    expect(img.mimeType).toBe('image/png');
    expect(img.data.length).toBeGreaterThan(1_000_000);
    expect(Buffer.from(img.data.slice(0, 12), 'base64').subarray(0, 4).toString('latin1')).toBe('\x89PNG');
    const again = defaultResponder(ask('a cat', { generationConfig: { responseModalities: ['IMAGE'] } }), gen) as { response: Gen };
    const h = (s: string): string => createHash('sha1').update(s).digest('hex');
    expect(h(again.response.candidates[0]!.content.parts[1]!.inlineData!.data)).toBe(h(img.data));
  });

  it('embeds to a unit vector of outputDimensionality (default: the model size)', () => {
    const embed = { ...gen, task: 'embed' as const };
    const r = defaultResponder({ content: { parts: [{ text: 'x' }] } }, embed) as { response: { embedding: { values: number[] }; tokenCount: string } };
    expect(r.response.embedding.values).toHaveLength(3072);
    expect(Math.hypot(...r.response.embedding.values)).toBeCloseTo(1, 4);
    expect(r.response.tokenCount).toBe('1');
    const d = defaultResponder({ content: { parts: [{ text: 'x' }] }, outputDimensionality: 3 }, embed) as { response: { embedding: { values: number[] } } };
    expect(d.response.embedding.values).toHaveLength(3);
  });
});

describe('pluggable responder', () => {
  it('replaces the default, and its errors and throws become per-request errors', async () => {
    const emu = await startEmulator({
      pendingMs: 0,
      runningMs: 0,
      responder: (_req, ctx) => {
        if (ctx.key === 'boom') throw new Error('kaput');
        if (ctx.key === 'no') return { error: { code: 400, message: 'refused', status: 'FAILED_PRECONDITION' } };
        return { response: { custom: ctx.key, model: ctx.model } };
      },
    });
    try {
      const requests = ['yes', 'no', 'boom'].map((key) => ({ request: ask(key), metadata: { key } }));
      const r = await call('POST', `${emu.url}/v1beta/models/gemini-2.5-flash:batchGenerateContent`, {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ batch: { input_config: { requests: { requests } } } }),
      });
      const op = await waitDone(emu.url, (r.json() as { name: string }).name);
      expect(op.metadata.output?.inlinedResponses?.inlinedResponses).toEqual([
        { response: { custom: 'yes', model: 'models/gemini-2.5-flash' }, metadata: { key: 'yes' } },
        { error: { code: 400, message: 'refused', status: 'FAILED_PRECONDITION' }, metadata: { key: 'no' } },
        // A throw is gRPC 13 INTERNAL with no status string, as the service writes per-request errors.
        { error: { code: 13, message: 'An internal error has occurred: kaput' }, metadata: { key: 'boom' } },
      ]);
      expect(op.response).toMatchObject({ inlinedResponses: { inlinedResponses: expect.any(Array) } });
      expect(op.metadata.batchStats).toEqual({ requestCount: '3', successfulRequestCount: '1', failedRequestCount: '2' });
    } finally {
      await emu.close();
    }
  });
});
