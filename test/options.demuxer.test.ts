/** resultDemuxer() options: order, output form, skipped results. */
import { describe, expect, it } from 'vitest';
import { demuxerOptionsSchema } from '../src/options/demuxer.js';
import { parseOptions } from '../src/options/parse.js';
import { resultDemuxer } from '../src/stages/result-demuxer/index.js';
import { expectRefused, frozen } from './options.helpers.js';

describe('resultDemuxer options', () => {
  it('defaults: objects in input order, files removed once emitted', () => {
    expect(parseOptions(demuxerOptionsSchema, {}, 'resultDemuxer')).toEqual({
      task: 'generate',
      ordered: true,
      output: 'objects',
      skipResults: 0,
      firstIndex: 0,
      removeFiles: true,
    });
  });

  it('refuses a bad output form and a negative skip, synchronously', () => {
    expectRefused(() => resultDemuxer({}, { output: 'csv' as never }), /^resultDemuxer: option output: /);
    expectRefused(() => resultDemuxer({}, { skipResults: -2 }), /option skipResults/);
  });

  it('leaves the caller object as it was', () => {
    const { value, copy } = frozen({ output: 'jsonl' as const });
    resultDemuxer({}, value).destroy();
    expect(value).toEqual(copy);
  });
});
