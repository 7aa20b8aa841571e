/**
 * The enqueued-token quota, seen from our side (issue 10).
 *
 * The service limits the tokens of a model's pending and running batches
 * together (Tier 1, 2.5 Flash: 3,000,000) and answers a create over it with
 * 429 RESOURCE_EXHAUSTED whose QuotaFailure names the limit. We learn the
 * limit from that answer, reserve each chunk's estimated tokens before its
 * create, and let a create go only while our own reservations plus it fit.
 * What to do on a 429 is a pure decision (decideOnQuota429) so it is tested
 * without a service; the gate itself is a small bookkeeping class, and
 * createWithinQuota the one loop that acts on the decisions.
 *
 * Estimates err high (the estimator counts CJK as one token per character),
 * so "fits by our estimate" means "fits by the service's count" unless other
 * batches of the same project hold part of the quota: that case is the 429
 * that still comes, handled by waiting for our own jobs or, with none in
 * flight, by a bounded wait that ends in one clear sentence.
 */
import type { QuotaViolation } from '../../backend/types.js';
import { GeminiApiError } from '../../backend/service-error.js';
import { ChangeSignal } from '../../internal/concurrency/change-signal.js';
import { nextDelay, sleep, type BackoffOptions } from '../../internal/backoff.js';
import { GeminiBatchError } from '../../errors.js';
import { DEFAULT_QUOTA_WAIT_MS } from '../../options/survival.js';

/**
 * The quota facts of an error from a create: a 429 from the service, with the
 * violation that names enqueued tokens (the service error parsed its
 * google.rpc.QuotaFailure once, src/backend/service-error.ts). A violation
 * of another quota is kept without its limit: it only means "wait".
 */
export function quotaOf(err: unknown): { quota?: QuotaViolation; retryAfterMs?: number } | undefined {
  if (!(err instanceof GeminiApiError) || err.httpStatus !== 429) return undefined;
  const out: { quota?: QuotaViolation; retryAfterMs?: number } = {};
  if (err.retryAfterMs !== undefined && Number.isFinite(err.retryAfterMs)) out.retryAfterMs = err.retryAfterMs;
  const v = err.quotaViolations.find((q) => q.limit !== undefined) ?? err.quotaViolations[0];
  if (v) {
    const { limit, ...rest } = v;
    out.quota = isTokenQuota(v) && limit !== undefined ? { ...rest, limit } : rest;
  }
  return out;
}

/**
 * A violation about enqueued tokens, or one that does not say what it is
 * about. A 429 on another quota (requests per minute or day, file storage)
 * must not be learned as a token limit: it only means "wait". Decided by
 * what the other quotas are called, so a token quota's name need not match
 * any exact spelling.
 */
function isTokenQuota(v: QuotaViolation): boolean {
  const what = `${v.metric ?? ''} ${v.id ?? ''}`;
  return !/request|storage|bytes|per_?minute|per_?day/i.test(what);
}

/** 2-3 s after the first 429, growing to 60-90 s: the quota drains as batches finish, in minutes. */
const QUOTA_BACKOFF: BackoffOptions = { initialMs: 3_000, maxMs: 90_000, factor: 2, jitter: 1 / 3, maxAttempts: Infinity, maxElapsedMs: Infinity };

export type QuotaDecision =
  /** Give up: the message is one sentence naming the quota, the model and the fix. */
  | { kind: 'fail'; error: GeminiBatchError }
  /** The request can never fit: cut it into parts of at most `partTokens` estimated tokens. */
  | { kind: 'split'; limit: number; partTokens: number }
  /** Our own batches hold the quota: wait until one of them ends, then try again. */
  | { kind: 'wait-for-ours' }
  /** Nothing of ours holds it: wait this long, then try again. */
  | { kind: 'backoff'; delayMs: number };

export interface QuotaSituation {
  model: string;
  /** Estimated tokens of what we tried to create. */
  tokens: number;
  /** Requests in it: a single request over the limit cannot be split further. */
  requests: number;
  quota?: QuotaViolation;
  retryAfterMs?: number;
  /** The limit learned earlier (from this or another chunk's 429). */
  learnedLimit?: number;
  /** Our batches pending or running (other than this one). */
  oursInFlight: number;
  /** ms since the first 429 of the current streak with none of ours in flight (0 for the first). */
  starvedMs: number;
  quotaWaitMs: number;
  /** 1-based 429s in the current streak, for the backoff. */
  attempt: number;
  random?: () => number;
}

/** What to do about one 429 on create. Pure: the gate and the tests feed it. */
export function decideOnQuota429(s: QuotaSituation): QuotaDecision {
  const limit = s.quota?.limit ?? s.learnedLimit;
  const name = quotaName(s.quota);
  if (limit === 0) {
    return {
      kind: 'fail',
      error: new GeminiBatchError(
        'ERR_QUOTA',
        `The project has no Gemini Batch access for ${s.model} (${name} is 0; the free tier has none): enable billing on the project or use an API key of a paid tier.`,
      ),
    };
  }
  if (limit !== undefined && s.tokens > limit) {
    if (s.requests <= 1) {
      return {
        kind: 'fail',
        error: new GeminiBatchError(
          'ERR_QUOTA',
          `One request of about ${s.tokens} tokens is larger than the ${name} of ${limit} tokens for ${s.model}, so no batch can ever hold it: shorten that request or raise the quota.`,
        ),
      };
    }
    return { kind: 'split', limit, partTokens: splitTarget(limit) };
  }
  if (s.oursInFlight > 0) return { kind: 'wait-for-ours' };
  if (s.starvedMs >= s.quotaWaitMs) {
    const mins = Math.max(1, Math.round(s.quotaWaitMs / 60_000));
    const lim = limit !== undefined ? ` (${limit} tokens)` : '';
    return {
      kind: 'fail',
      error: new GeminiBatchError(
        'ERR_QUOTA',
        `The ${name}${lim} for ${s.model} kept refusing a batch of about ${s.tokens} tokens for ${mins} min while none of this run's batches were queued: wait for the project's other batches to finish, raise the quota (a higher tier), or lower maxBatchTokens, then run again.`,
      ),
    };
  }
  const delay = s.retryAfterMs !== undefined ? Math.max(s.retryAfterMs, 250) : nextDelay(s.attempt, QUOTA_BACKOFF, s.random)!;
  // Never sleep past the end of the bounded wait (plus a moment, so the last try happens after it).
  return { kind: 'backoff', delayMs: Math.max(1, Math.min(delay, s.quotaWaitMs - s.starvedMs + 1)) };
}

/**
 * Parts cut for a quota split hold at most half the limit: two of them can be
 * queued at once, so one finishing does not leave the quota idle while the
 * next is created and waits to start.
 */
export function splitTarget(limit: number): number {
  return Math.max(1, Math.floor(limit / 2));
}

function quotaName(q: QuotaViolation | undefined): string {
  const id = q?.id ?? q?.metric;
  const kind = !q || isTokenQuota(q) ? 'enqueued-token quota' : 'quota';
  return id ? `${kind} ${id}` : kind;
}

/** A chunk's claim on the quota from just before its create until its batch ends. */
export interface QuotaReservation {
  readonly tokens: number;
  /** The create succeeded: the tokens stay ours until `release`. */
  created(): void;
  /** The create failed or the batch ended: the tokens are free again (idempotent). */
  release(): void;
}

/**
 * Our side of one model's enqueued-token quota. One gate per run and model;
 * every create goes through `reserve` and ends with `release`.
 */
export class QuotaGate {
  private learned: number | undefined;
  private reserved = 0;
  private reservations = 0;
  private running = 0;
  private readonly changes = new ChangeSignal();
  private starvedSince: number | undefined;
  private streak = 0;

  constructor(
    readonly model: string,
    private readonly quotaWaitMs: number = DEFAULT_QUOTA_WAIT_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** The limit learned from a 429, if any. */
  get limit(): number | undefined {
    return this.learned;
  }

  /** Estimated tokens of our batches reserved, being created or queued. */
  get enqueuedTokens(): number {
    return this.reserved;
  }

  /** Our batches created and not yet ended. */
  get jobsInFlight(): number {
    return this.running;
  }

  learn(limit: number): void {
    // The smallest limit seen wins: a later, larger number may be another quota's.
    this.learned = this.learned === undefined ? limit : Math.min(this.learned, limit);
  }

  /** A chunk of `tokens` is over the learned limit: split it before asking the service. */
  needsSplit(tokens: number): boolean {
    return this.learned !== undefined && tokens > this.learned;
  }

  /** Would `tokens` fit now by our own count? Always true while nothing of ours holds the quota. */
  fits(tokens: number): boolean {
    if (this.reservations === 0) return true;
    return this.learned === undefined || this.reserved + tokens <= this.learned;
  }

  /** Count a batch of ours that already exists (adopted on resume): no wait, it is queued already. */
  hold(tokens: number): QuotaReservation {
    this.reserved += tokens;
    this.reservations++;
    return this.handle(tokens, 'reserved', true);
  }

  /** Wait until `tokens` fit beside our own reservations, then reserve them. */
  async reserve(tokens: number, signal?: AbortSignal): Promise<QuotaReservation> {
    while (!this.fits(tokens)) await this.changed(signal);
    this.reserved += tokens;
    this.reservations++;
    return this.handle(tokens, 'reserved', false);
  }

  private handle(tokens: number, initial: 'reserved', created: boolean): QuotaReservation {
    let state: 'reserved' | 'created' | 'released' = initial;
    const r: QuotaReservation = {
      tokens,
      created: () => {
        if (state !== 'reserved') return;
        state = 'created';
        this.running++;
        this.starvedSince = undefined;
        this.streak = 0;
      },
      release: () => {
        if (state === 'released') return;
        if (state === 'created') this.running--;
        state = 'released';
        this.reserved -= tokens;
        this.reservations--;
        this.changes.notify();
      },
    };
    if (created) r.created();
    return r;
  }

  /**
   * A create of `tokens` (`requests` requests) answered 429. The caller has
   * already released its reservation (so `jobsInFlight` counts only others).
   */
  on429(err: unknown, tokens: number, requests: number, random?: () => number): QuotaDecision {
    const q = quotaOf(err);
    if (q?.quota?.limit !== undefined) this.learn(q.quota.limit);
    const now = this.now();
    const oursInFlight = this.running;
    if (oursInFlight > 0) this.starvedSince = undefined;
    else this.starvedSince ??= now;
    this.streak++;
    return decideOnQuota429({
      model: this.model,
      tokens,
      requests,
      quota: q?.quota,
      retryAfterMs: q?.retryAfterMs,
      learnedLimit: this.learned,
      oursInFlight,
      starvedMs: this.starvedSince === undefined ? 0 : now - this.starvedSince,
      quotaWaitMs: this.quotaWaitMs,
      attempt: this.streak,
      random,
    });
  }

  /** Resolves at the next release (one of our batches ended or a create gave its tokens back). */
  changed(signal?: AbortSignal): Promise<void> {
    return this.changes.wait(signal);
  }
}

export type QuotaCreateResult<T> =
  /** create() answered `value` (a job made or found); release the reservation when that job ends. */
  | { kind: 'created'; value: T; reservation: QuotaReservation }
  /** Over the limit: cut into parts of at most partTokens and run those instead. */
  | { kind: 'split'; limit: number; partTokens: number };

export interface QuotaCreateOptions<T> {
  gate: QuotaGate;
  /** Estimated tokens of the request set. */
  tokens: number;
  requests: number;
  /** Makes the batch; throws the service's error (a 429 with its quota) when refused. */
  create: () => Promise<T>;
  signal?: AbortSignal;
  /** Told before each wait (job events: "waiting for the quota"). */
  onWait?: (why: 'ours' | 'backoff', detail: string) => void;
}

/**
 * One create under the enqueued-token quota: reserve the request set's
 * estimated tokens on the gate, create, and on a 429 act on the gate's
 * decision (wait for one of ours to end, back off, split, or fail in one
 * sentence). The create itself (journal intent, adopt after an ambiguous
 * answer) is the caller's function; this only decides when to call it.
 */
export async function createWithinQuota<T>(o: QuotaCreateOptions<T>): Promise<QuotaCreateResult<T>> {
  const { gate } = o;
  for (;;) {
    if (o.requests > 1 && gate.needsSplit(o.tokens)) {
      const limit = gate.limit!;
      return { kind: 'split', limit, partTokens: splitTarget(limit) };
    }
    const reservation = await gate.reserve(o.tokens, o.signal);
    let value: T;
    try {
      value = await o.create();
    } catch (err) {
      reservation.release();
      if (!quotaOf(err)) throw err;
      const d = gate.on429(err, o.tokens, o.requests);
      switch (d.kind) {
        case 'fail':
          throw d.error;
        case 'split':
          return d;
        case 'wait-for-ours':
          // Decided and registered in the same tick: an end of ours cannot slip between.
          o.onWait?.('ours', `enqueued-token quota full: waiting for one of this run's ${gate.jobsInFlight} batches to finish`);
          await gate.changed(o.signal);
          continue;
        case 'backoff':
          o.onWait?.('backoff', `enqueued-token quota full (429): trying again in ${Math.round(d.delayMs / 1000)} s`);
          await sleep(d.delayMs, o.signal);
          continue;
      }
    }
    reservation.created();
    return { kind: 'created', value, reservation };
  }
}
