/**
 * probeService: one cheap call (the first page of batches.list, one item)
 * under a short deadline, answering "can this client do batch work at all?"
 * before a caller touches anything it cannot undo. It returns a verdict, it
 * does not throw for the service's answers: an unreachable endpoint, a
 * refused key, no access, or an endpoint that is not the API. A busy service
 * (429, 5xx) is not a verdict: the run's own bounded retries deal with it.
 */
import { abortError } from '../../errors.js';
import { GeminiApiError } from './errors.js';
import type { GeminiClient } from './types.js';

export type ProbeVerdict =
  | { ok: true }
  | {
      ok: false;
      /** unreachable: no answer at all; key: the key was refused; access: the key may not use the API; not-api: the endpoint does not serve it. */
      problem: 'unreachable' | 'key' | 'access' | 'not-api';
      /** The error behind it, already scrubbed of the key. */
      error: GeminiApiError | Error;
    };

export interface ProbeOptions {
  /** The whole probe ends within this (default 8 s): a blackholed host must not cost the connect timeout per retry. */
  deadlineMs?: number;
  signal?: AbortSignal;
}

export const DEFAULT_PROBE_DEADLINE_MS = 8_000;

/** What a failed probe call says about the service, or undefined when it says nothing that should stop a run. */
export function judgeProbeError(err: unknown): ProbeVerdict | undefined {
  if (!(err instanceof GeminiApiError)) return undefined;
  if (err.httpStatus === 0) return err.status === 'NETWORK_ERROR' ? { ok: false, problem: 'unreachable', error: err } : undefined;
  if (err.reason === 'API_KEY_INVALID' || err.httpStatus === 401) return { ok: false, problem: 'key', error: err };
  if (err.httpStatus === 403 || err.noAccess) return { ok: false, problem: 'access', error: err };
  if (err.httpStatus === 404) return { ok: false, problem: 'not-api', error: err };
  return undefined;
}

export async function probeService(client: Pick<GeminiClient, 'batches'>, opts: ProbeOptions = {}): Promise<ProbeVerdict> {
  const deadline = AbortSignal.timeout(opts.deadlineMs ?? DEFAULT_PROBE_DEADLINE_MS);
  const signal = opts.signal ? AbortSignal.any([opts.signal, deadline]) : deadline;
  try {
    await client.batches.list({ pageSize: 1, signal })[Symbol.asyncIterator]().next();
    return { ok: true };
  } catch (err) {
    if (opts.signal?.aborted) throw abortError(opts.signal);
    if (deadline.aborted) {
      const s = Math.round((opts.deadlineMs ?? DEFAULT_PROBE_DEADLINE_MS) / 100) / 10;
      return { ok: false, problem: 'unreachable', error: new Error(`no answer within ${s} s`) };
    }
    const verdict = judgeProbeError(err);
    if (verdict) return verdict;
    // 429, 5xx, an odd answer: the endpoint is there and speaks; the run's retries take it from here.
    return { ok: true };
  }
}
