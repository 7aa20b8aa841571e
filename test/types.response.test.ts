/**
 * KeyedResult.response is typed as the service's GenerateContentResponse:
 * `r.response.candidates?.[0]?.content?.parts?.[0]?.text` type-checks under
 * strict tsc with no SDK installed, and the SDK's own response type
 * (`@google/genai`, a devDependency here) fits ours. The first is checked by
 * running tsc on a user's file; the second by this file's own type check.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { GenerateContentResponse as SdkResponse } from '@google/genai';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { GenerateContentResponse, KeyedResult } from '../src/index.js';

const root = resolve(import.meta.dirname, '..');

describe('KeyedResult.response', () => {
  it('reads candidates, parts and usage with strict tsc (no casts)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gb-types-'));
    try {
      writeFileSync(
        join(dir, 'use.ts'),
        [
          `import type { KeyedResult } from ${JSON.stringify(join(root, 'src/index.js'))};`,
          'export function answer(r: KeyedResult): string | undefined {',
          "  if (!('response' in r)) return undefined;",
          '  const text: string | undefined = r.response.candidates?.[0]?.content?.parts?.[0]?.text;',
          '  const total: number | undefined = r.response.usageMetadata?.totalTokenCount;',
          '  const version: string | undefined = r.response.modelVersion;',
          "  return `${text ?? ''} ${total ?? 0} ${version ?? ''} ${r.response.candidates?.[0]?.finishReason ?? ''}`;",
          '}',
        ].join('\n'),
      );
      const tsc = join(root, 'node_modules/.bin/tsc');
      const out = spawnSync(tsc, ['--noEmit', '--strict', '--skipLibCheck', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', '--typeRoots', join(root, 'node_modules/@types'), join(dir, 'use.ts')], { encoding: 'utf8' });
      expect(out.stdout + out.stderr).toBe('');
      expect(out.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it("accepts the SDK's GenerateContentResponse (checked by tsc over this file)", () => {
    expectTypeOf<SdkResponse>().toMatchTypeOf<GenerateContentResponse>();
    expectTypeOf<Extract<KeyedResult, { response: unknown }>['response']>().toEqualTypeOf<GenerateContentResponse>();
    const sdk: SdkResponse = Object.assign(Object.create(null) as SdkResponse, { candidates: [{ content: { parts: [{ text: 'hi' }] } }] });
    const ours: GenerateContentResponse = sdk;
    expect(ours.candidates?.[0]?.content?.parts?.[0]?.text).toBe('hi');
  });
});
