/** batchSubmitter() options: the job window, polling, the failure policies. */
import { describe, expect, it } from 'vitest';
import type { BatchBackend } from '../src/backend/types.js';
import { parseOptions } from '../src/options/parse.js';
import { submitterOptionsSchema } from '../src/options/submitter.js';
import { batchSubmitter } from '../src/stages/batch-submitter/index.js';
import { expectRefused, frozen } from './options.helpers.js';

// The factory validates before it calls the backend: only its limits are read.
const ctx = { backend: { limits: { tokenQuota: true, webhooks: true } } as BatchBackend, runId: 'r', workDir: '/nonexistent-never-written' };

describe('batchSubmitter options', () => {
  it('defaults live in the schema: 8 jobs, polls from 2 s to 60 s, 3 attempts', () => {
    const o = parseOptions(submitterOptionsSchema, { model: 'm' }, 'batchSubmitter');
    expect(o).toMatchObject({
      model: 'm',
      task: 'generate',
      maxJobsInFlight: 8,
      pollInterval: { initialMs: 2_000, maxMs: 60_000, ageFraction: 0.2 },
      cleanupRemote: true,
      maxJobAttempts: 3,
      minSplitRequests: 1,
      onCancelled: 'emit',
      retryFailedRequests: 0,
      ordered: true,
      skipResults: 0,
      cancelOnAbort: false,
    });
    // A partial pollInterval keeps the other default.
    expect(parseOptions(submitterOptionsSchema, { model: 'm', pollInterval: { maxMs: 5_000 } }, 'x').pollInterval).toEqual({ initialMs: 2_000, maxMs: 5_000, ageFraction: 0.2 });
  });

  it('refuses what would hang or loop, synchronously', () => {
    expectRefused(() => batchSubmitter(ctx, { model: 'm', maxJobsInFlight: 0 }), /^batchSubmitter: option maxJobsInFlight: /);
    expectRefused(() => batchSubmitter(ctx, { model: 'm', maxJobAttempts: 0 }), /option maxJobAttempts/);
    expectRefused(() => batchSubmitter(ctx, { model: 'm', pollInterval: { initialMs: 0 } }), /option pollInterval.initialMs/);
    expectRefused(() => batchSubmitter(ctx, { model: 'm', pollInterval: { initialMs: 5_000, maxMs: 1_000 } }), /maxMs must be >= initialMs/);
    expectRefused(() => batchSubmitter(ctx, {} as never), /model is required/);
  });

  it('leaves the caller object as it was', () => {
    const { value, copy } = frozen({ model: 'm', pollInterval: { initialMs: 10 } });
    batchSubmitter(ctx, value).destroy();
    expect(value).toEqual(copy);
  });
});
