/**
 * How often waitForBatch polls: x1.5 backoff between initialMs and maxMs,
 * capped at a fraction of the job's age (issue 12: a finished job is noticed
 * within that fraction of its age, so uploads, jobs and demux overlap).
 * Pure functions, tested without a service.
 */
import { DEFAULT_POLL_INTERVAL } from '../../options/poll.js';
import type { BatchOperation, WaitOptions } from './types.js';

/** Resolved poll policy of waitForBatch. */
export interface PollPolicy {
  initialMs: number;
  maxMs: number;
  ageFraction: number;
}

export function pollPolicy(p: WaitOptions['pollInterval'] = {}): PollPolicy {
  const d = DEFAULT_POLL_INTERVAL;
  const maxMs = p.maxMs ?? d.maxMs;
  return { maxMs, initialMs: Math.min(p.initialMs ?? d.initialMs, maxMs), ageFraction: p.ageFraction ?? d.ageFraction };
}

/**
 * The pause before the next poll: the last one x1.5, but never more than
 * `ageFraction` of the job's age (nor under initialMs, nor over maxMs). With
 * plain x1.5 backoff the next pause is about 3/4 of the time waited so far,
 * so a job that ends right after a poll is noticed that late (issue 12 saw up
 * to half); the cap bounds it to ageFraction, for a few more polls of a young
 * job (30 instead of 18 over 10 minutes at 2 s..60 s) and none more once
 * maxMs is reached.
 */
export function nextPollDelay(previousMs: number, jobAgeMs: number, policy: PollPolicy): number {
  const grown = previousMs * 1.5;
  const cap = Math.max(policy.initialMs, policy.ageFraction * jobAgeMs);
  return Math.min(policy.maxMs, grown, cap);
}

/** The job's age by its createTime when that is plausible (0..72 h), else time since we began waiting. */
export function jobAgeMs(op: Pick<BatchOperation, 'createTime'>, waitStart: number, now: number): number {
  const created = op.createTime ? Date.parse(op.createTime) : Number.NaN;
  const byService = now - created;
  if (Number.isFinite(byService) && byService >= 0 && byService <= 72 * 3600_000) return Math.max(byService, now - waitStart);
  return now - waitStart;
}
