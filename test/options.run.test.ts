/** geminiBatch() options: the run's own, the composition of the stages', and the caller's object. */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { geminiBatch } from '../src/gemini-batch.js';
import { optionsSchema, resolveOptions } from '../src/options.js';
import { expectRefused, frozen } from './options.helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'gb-opts-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const base = { model: 'm', apiKey: 'k', baseUrl: 'http://127.0.0.1:9', tmpDir: tmp };

describe('geminiBatch options', () => {
  it('carry every stage family: one schema made of theirs', () => {
    const o = resolveOptions({ model: 'm' });
    expect(o).toMatchObject({ mode: 'auto', uploadConcurrency: 2, maxJobsInFlight: 8, output: 'objects', onInvalid: 'error', completeOnEnd: true });
    for (const k of ['maxRequestsPerBatch', 'uploadConcurrency', 'pollInterval', 'output', 'retry', 'completeOnEnd', 'adoptWindowMs']) {
      expect(Object.keys(optionsSchema.shape)).toContain(k);
    }
  });

  it('refuse, synchronously, naming the option', () => {
    expectRefused(() => geminiBatch({ ...base, uploadConcurrency: 0 }), /^geminiBatch: option uploadConcurrency: /);
    expectRefused(() => geminiBatch({ ...base, maxJobsInFlight: -1 }), /option maxJobsInFlight/);
    expectRefused(() => geminiBatch({ ...base, runId: 'Has Spaces' }), /runId/);
    expectRefused(() => geminiBatch({ ...base, skipResults: 3, ordered: false }), /skipResults needs ordered: true/);
    expectRefused(() => geminiBatch({ ...base, toRequest: 'x' as never }), /option toRequest: must be a function/);
    expectRefused(() => geminiBatch({ apiKey: 'k' } as never), /model is required/);
    // Nothing was left behind by the refusals.
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('keep the caller object, and its toRequest function, as they were', async () => {
    const toRequest = (r: { text: string }) => ({ request: { contents: [{ parts: [{ text: r.text }] }] } });
    const { value, copy } = frozen({ ...base, pollInterval: { initialMs: 10 }, retry: { maxAttempts: 1 } });
    const stage = geminiBatch({ ...value, toRequest });
    expect(resolveOptions({ ...value, toRequest }).toRequest).toBe(toRequest);
    stage.destroy();
    await once(stage, 'close');
    expect(value).toEqual(copy);
  });
});
