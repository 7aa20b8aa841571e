/** sizeChunker() options: mode, byte and count limits, flushAfterMs. */
import { describe, expect, it } from 'vitest';
import { chunkerOptionsSchema } from '../src/options/chunker.js';
import { parseOptions } from '../src/options/parse.js';
import { ChunkBuilder, sizeChunker } from '../src/stages/size-chunker.js';
import { expectRefused, frozen } from './options.helpers.js';

const ctx = { workDir: '/nonexistent-never-written' };

describe('sizeChunker options', () => {
  it('defaults: auto mode, 2 GB files, 20 MB inline bodies, 200k requests, no timer', () => {
    expect(parseOptions(chunkerOptionsSchema, {}, 'sizeChunker')).toEqual({
      mode: 'auto',
      maxFileBytes: 2_000_000_000,
      maxInlineBytes: 20_000_000,
      maxRequestsPerBatch: 200_000,
    });
  });

  it('refuses bad limits synchronously, naming the option', () => {
    expectRefused(() => sizeChunker(ctx, { maxFileBytes: 0 }), /^sizeChunker: option maxFileBytes: /);
    expectRefused(() => sizeChunker(ctx, { maxFileBytes: 3_000_000_000 }), /option maxFileBytes/);
    expectRefused(() => sizeChunker(ctx, { maxInlineBytes: -5 }), /option maxInlineBytes/);
    expectRefused(() => sizeChunker(ctx, { maxRequestsPerBatch: 0.5 }), /option maxRequestsPerBatch/);
    expectRefused(() => sizeChunker(ctx, { flushAfterMs: 0 }), /option flushAfterMs/);
    expectRefused(() => sizeChunker(ctx, { mode: 'stream' as never }), /option mode/);
  });

  it('the core validates the same way', () => {
    expectRefused(() => new ChunkBuilder({ dir: ctx.workDir, maxRequestsPerBatch: 0 }), /option maxRequestsPerBatch/);
  });

  it('leaves the caller object as it was', () => {
    const { value, copy } = frozen({ mode: 'file' as const, maxRequestsPerBatch: 10 });
    sizeChunker(ctx, value).destroy();
    expect(value).toEqual(copy);
  });
});
