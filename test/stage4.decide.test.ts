/** Stage 4's decisions as tables: what comes after a job ends, and what the journal says a chunk needs. */
import { describe, expect, it } from 'vitest';
import { decideAfterJob, mayBeInputGone, planChunk, shouldSplitExpired, type JobEnd } from '../src/stages/batch-submitter/decide.js';
import type { ChunkRecord } from '../src/journal/types.js';

const end = (o: Partial<JobEnd>): JobEnd => ({
  state: 'SUCCEEDED',
  hasOutput: true,
  batchName: 'batches/b',
  attempt: 1,
  maxAttempts: 3,
  lines: 10,
  depth: 0,
  minSplitRequests: 1,
  onCancelled: 'emit',
  ...o,
});

describe('decideAfterJob', () => {
  it.each<[string, Partial<JobEnd>, string]>([
    ['succeeded', {}, 'done'],
    ['failed with output, not yet counted', { state: 'FAILED' }, 'count-unanswered'],
    ['failed with output, all answered', { state: 'FAILED', unanswered: 0 }, 'done'],
    ['failed with output, some unanswered', { state: 'FAILED', unanswered: 4 }, 'run-rest'],
    ['failed with output, none answered: resubmit', { state: 'FAILED', unanswered: 10 }, 'resubmit'],
    ['failed without output, attempts left', { state: 'FAILED', hasOutput: false }, 'resubmit'],
    ['failed without output, last attempt', { state: 'FAILED', hasOutput: false, attempt: 3 }, 'give-up'],
    ['expired without output: halves', { state: 'EXPIRED', hasOutput: false }, 'split-halves'],
    ['expired with partial output', { state: 'EXPIRED', unanswered: 3 }, 'run-rest'],
    ['expired at the depth floor', { state: 'EXPIRED', hasOutput: false, depth: 3 }, 'give-up'],
    ['expired, one request', { state: 'EXPIRED', hasOutput: false, lines: 1 }, 'give-up'],
    ['cancelled with output: kept, the rest errors', { state: 'CANCELLED' }, 'give-up'],
    ['cancelled, onCancelled error', { state: 'CANCELLED', hasOutput: false, onCancelled: 'error' }, 'fail-run'],
  ])('%s → %s', (_name, o, kind) => {
    expect(decideAfterJob(end(o)).kind).toBe(kind);
  });

  it('a give-up names the state and carries the job error code', () => {
    expect(decideAfterJob(end({ state: 'FAILED', hasOutput: false, attempt: 3, error: { code: 13, message: 'boom' } }))).toEqual({
      kind: 'give-up',
      failure: { code: 13, status: 'BATCH_FAILED', message: 'batch batches/b failed 3 times: boom' },
    });
    expect(decideAfterJob(end({ state: 'EXPIRED', hasOutput: false, depth: 3 }))).toMatchObject({ failure: { code: 504, status: 'BATCH_EXPIRED' } });
  });

  it('EXPIRED halving stops at the depth floor and at minSplitRequests', () => {
    expect(shouldSplitExpired(10, 0, 1)).toBe(true);
    expect(shouldSplitExpired(10, 3, 1)).toBe(false);
    expect(shouldSplitExpired(10, 0, 6)).toBe(false);
    expect(shouldSplitExpired(1, 0, 1)).toBe(false);
  });
});

describe('planChunk (the resume decision, made once)', () => {
  const chunk = { lineCount: 5, firstSeq: 10, count: 5 };
  const rec = (o: Partial<ChunkRecord>): ChunkRecord => ({ index: 2, firstSeq: 10, count: 5, bytes: 1, sha256: 'x', attempt: 0, batches: {}, terminal: {}, ...o });
  it.each<[string, Parameters<typeof planChunk>, ReturnType<typeof planChunk>]>([
    ['no lines', [{ ...chunk, lineCount: 0 }, undefined, 0], { kind: 'skip' }],
    ['all emitted before', [chunk, undefined, 15], { kind: 'skip' }],
    ['new', [chunk, undefined, 0], { kind: 'run', attempt: 0 }],
    ['results on disk', [chunk, rec({ resultsPath: '/r' }), 0], { kind: 'results-on-disk', resultsPath: '/r', state: 'SUCCEEDED' }],
    [
      'results on disk, failed for good',
      [chunk, rec({ resultsPath: '/r', failure: { code: 504, status: 'BATCH_EXPIRED', message: 'm' } }), 0],
      { kind: 'results-on-disk', resultsPath: '/r', state: 'EXPIRED', failure: { code: 504, status: 'BATCH_EXPIRED', message: 'm' } },
    ],
    ['lost before: its next attempt', [chunk, rec({ attempt: 2 }), 0], { kind: 'run', attempt: 2 }],
  ])('%s', (_n, args, plan) => {
    expect(planChunk(...args)).toEqual(plan);
  });
});

describe('mayBeInputGone', () => {
  it.each<[number, string, boolean, boolean]>([
    [400, 'whole', true, true],
    [404, 'whole', true, true],
    [429, 'whole', true, false],
    [408, 'whole', true, false],
    [500, 'whole', true, false],
    [400, 'half', true, false],
    [400, 'whole', false, false],
  ])('%i on a %s part (stored input: %s) → %s', (status, kind, stored, want) => {
    expect(mayBeInputGone(status, kind, stored)).toBe(want);
  });
});
