/** The one retry schema: createGeminiClient() and geminiBatch() accept and refuse the same. */
import { describe, expect, it } from 'vitest';
import { createGeminiClient } from '../src/backends/gemini/client.js';
import { GeminiBatchError } from '../src/errors.js';
import { geminiBatch } from '../src/gemini-batch.js';
import { retryOptionsSchema } from '../src/options/retry.js';

const client = (retry: unknown) => () => createGeminiClient({ apiKey: 'k', baseUrl: 'http://127.0.0.1:9', retry: retry as never });
const batch = (retry: unknown) => () => geminiBatch({ model: 'm', apiKey: 'k', baseUrl: 'http://127.0.0.1:9', retry: retry as never });

function refusal(make: () => unknown): string | undefined {
  try {
    const made = make() as { destroy?: () => void; close?: () => Promise<void> };
    made.destroy?.();
    void made.close?.();
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(GeminiBatchError);
    return (err as GeminiBatchError).code;
  }
}

describe('retry options', () => {
  it.each([
    [{ maxAttempts: 0 }, 'ERR_INVALID_OPTIONS'],
    [{ initialDelayMs: -1 }, 'ERR_INVALID_OPTIONS'],
    [{ requestTimeoutMs: 0 }, 'ERR_INVALID_OPTIONS'],
    [{ maxAtempts: 2 }, 'ERR_INVALID_OPTIONS'],
    [{ maxAttempts: 2, initialDelayMs: 0, maxDelayMs: 10, maxElapsedMs: 100, requestTimeoutMs: 50 }, undefined],
  ])('%j: the client and geminiBatch agree', (retry, code) => {
    expect(refusal(client(retry))).toBe(code);
    expect(refusal(batch(retry))).toBe(code);
  });

  it('has no defaults of its own: absent fields keep the client policy', () => {
    expect(retryOptionsSchema.parse({})).toEqual({});
  });
});
