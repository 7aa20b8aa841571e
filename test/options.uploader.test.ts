/** uploader() options: uploadConcurrency and skipResults. */
import { describe, expect, it } from 'vitest';
import type { BatchBackend } from '../src/backend/types.js';
import { uploaderOptionsSchema } from '../src/options/uploader.js';
import { parseOptions } from '../src/options/parse.js';
import { uploader } from '../src/stages/uploader.js';
import { expectRefused, frozen } from './options.helpers.js';

// The factory validates before it touches the backend: none is needed to be refused.
const ctx = { backend: {} as BatchBackend, runId: 'r' };

describe('uploader options', () => {
  it('defaults: 2 uploads at once, nothing skipped', () => {
    expect(parseOptions(uploaderOptionsSchema, {}, 'uploader')).toEqual({ uploadConcurrency: 2, skipResults: 0 });
  });

  it('refuses uploadConcurrency 0 synchronously (it used to hang)', () => {
    expectRefused(() => uploader(ctx, { uploadConcurrency: 0 }), /^uploader: option uploadConcurrency: /);
  });

  it.each([[-1], [1.5], [65], [Number.NaN]])('refuses uploadConcurrency %s', (n) => {
    expectRefused(() => uploader(ctx, { uploadConcurrency: n }), /option uploadConcurrency/);
  });

  it('refuses a negative skipResults and an unknown option', () => {
    expectRefused(() => uploader(ctx, { skipResults: -1 }), /option skipResults/);
    expectRefused(() => uploader(ctx, { uploadConcurency: 3 } as never), /Unrecognized key/);
  });

  it('leaves the caller object as it was', () => {
    const { value, copy } = frozen({ uploadConcurrency: 3 });
    uploader(ctx, value).destroy();
    expect(value).toEqual(copy);
  });
});
