/**
 * The core promise as a property: for any input and any chunk limits, the
 * output is the input keys in input order, each with its own record's answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type RunningEmulator } from '../src/emulator/index.js';
import { geminiBatch } from '../src/index.js';
import { collect, responseText, textRecord } from './helpers/records.js';

let emu: RunningEmulator;
let tmp: string;
beforeAll(async () => {
  emu = await startEmulator({ port: 0, pendingMs: 1, runningMs: 2, shuffleResults: true, duplicateResults: 1 });
  tmp = mkdtempSync(join(tmpdir(), 'gb-prop-'));
});
afterAll(async () => {
  await emu.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('geminiBatch property', () => {
  it('any input, any limits: input keys in order, each with its own answer', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            key: fc.option(fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('dup', 'a:b', '0:0')), { nil: undefined }),
            text: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }),
          }),
          { maxLength: 60 },
        ),
        fc.record({
          maxRequestsPerBatch: fc.integer({ min: 1, max: 25 }),
          maxFileBytes: fc.integer({ min: 400, max: 5000 }),
          mode: fc.constantFrom('file' as const, 'inline' as const, 'auto' as const),
          ordered: fc.constant(true),
        }),
        async (rows, limits) => {
          const input = rows.map((r) => textRecord(r.key, `${r.text}`));
          const out = await collect(
            input,
            geminiBatch({
              model: 'gemini-2.5-flash',
              baseUrl: emu.url,
              apiKey: 'k',
              tmpDir: tmp,
              pollInterval: { initialMs: 5, maxMs: 20 },
              maxInlineBytes: limits.maxFileBytes,
              ...limits,
            }),
          );
          expect(out.map((r) => r.key)).toEqual(input.map((r, i) => (r.key === undefined ? String(i) : String(r.key))));
          out.forEach((r, i) => {
            const text = rows[i]!.text;
            expect(responseText(r)?.startsWith(`echo: ${text.slice(0, 40)}`)).toBe(true);
          });
        },
      ),
      { numRuns: 30 },
    );
  }, 120_000);
});
