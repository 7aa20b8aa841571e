/**
 * The options within what a backend takes: chunks no larger than its job
 * limits, and sent as files when it takes no inline input. Asking for inline
 * input from such a backend is refused in one sentence. Used by the run and
 * by the dry run (which opens no backend: it knows only its facts).
 */
import type { BatchBackend } from '../backend/types.js';
import { GeminiBatchError } from '../errors.js';
import type { ResolvedOptions } from '../options.js';
import { checkStoreOption } from './cost.js';

export function fitToBackend<R>(o: ResolvedOptions<R>, backend: Pick<BatchBackend, 'name' | 'limits'>): ResolvedOptions<R> {
  const l = backend.limits;
  checkStoreOption(backend.name, o.store);
  if (l.maxInlineBytes === undefined && o.mode === 'inline') {
    throw new GeminiBatchError('ERR_INVALID_OPTIONS', `geminiBatch: the ${backend.name} backend takes no inline input: use mode 'auto' or 'file'`);
  }
  return {
    ...o,
    mode: l.maxInlineBytes === undefined ? 'file' : o.mode,
    maxInlineBytes: Math.min(o.maxInlineBytes, l.maxInlineBytes ?? o.maxInlineBytes),
    maxFileBytes: Math.min(o.maxFileBytes, l.maxInputBytes),
    maxRequestsPerBatch: Math.min(o.maxRequestsPerBatch, l.maxRequestsPerJob),
  };
}
