/**
 * The receiver core, with no HTTP in it: verify a delivery, drop repeats by
 * `webhook-id`, acknowledge and ignore events for batches that are not ours,
 * and turn the rest into a hint for the batch's poll loop. It never acts on an
 * event's content: the pipeline GETs the batch to learn its state.
 */
import { EventEmitter } from 'node:events';
import { z } from 'zod/v3';
import { abortError } from '../errors.js';
import { WebhookError } from './errors.js';
import type { WebhookEvent } from './event.js';
import { DEFAULT_MAX_BODY_BYTES, parseOptions, webhookVerifyOptionsSchema, type WebhookVerifyOptions } from './options.js';
import { SeenSet } from './seen-set.js';
import { createWebhookVerifier, type WebhookHeaders, type WebhookVerifier } from './verify.js';

export interface WebhookReceiverOptions extends WebhookVerifyOptions {
  /**
   * Is this batch one of ours? Default: only batches passed to watch().
   * Either one saying yes is enough.
   */
  isOurs?: (batchName: string, event: WebhookEvent) => boolean;
  /** Called once per new, verified event for a batch of ours. */
  onBatchHint?: (batchName: string, event: WebhookEvent) => void;
  /** Ids remembered to drop repeated deliveries (default 10,000 ids for 24 h, the service's retry horizon). */
  dedupe?: { max?: number; ttlMs?: number };
  /** Largest body accepted by handle() (default 1 MiB); larger gets 413. */
  maxBodyBytes?: number;
  /** Reachable by handleWebhook()/receiveWebhook() while open (default true). */
  register?: boolean;
}

/** Validates createWebhookReceiver's options (also used by startWebhookReceiver before it takes a port). */
export const receiverOptionsSchema = webhookVerifyOptionsSchema
  .extend({
    isOurs: z.function().optional(),
    onBatchHint: z.function().optional(),
    dedupe: z
      .object({
        max: z.number().int().positive().max(10_000_000).default(10_000),
        ttlMs: z.number().int().positive().default(24 * 60 * 60_000),
      })
      .strict()
      .default({}),
    maxBodyBytes: z.number().int().positive().max(64 * 1024 * 1024).default(DEFAULT_MAX_BODY_BYTES),
    register: z.boolean().default(true),
  })
  .strict();

export type WebhookOutcome = 'hint' | 'duplicate' | 'ignored' | 'rejected';

/** What to answer the sender, and what happened. */
export interface WebhookResponse {
  status: number;
  /** JSON text for the response body. */
  body: string;
  outcome: WebhookOutcome;
  event?: WebhookEvent;
  error?: WebhookError;
}

export interface WebhookReceiverEvents {
  /** A new, verified event for one of our batches: GET it now. */
  hint: [batchName: string, event: WebhookEvent];
  /** A delivery that did not verify (answered 401/400/503); nothing changed. */
  rejected: [error: WebhookError];
  /** Verified, but for a batch that is not ours, or about no batch (a ping); answered 2xx. */
  ignored: [event: WebhookEvent];
  /** Verified, but seen before (a retry or a duplicate); answered 2xx. */
  duplicate: [event: WebhookEvent];
}

export interface WebhookReceiverStats {
  received: number;
  hints: number;
  duplicates: number;
  ignored: number;
  rejected: number;
}

export interface WebhookReceiver extends EventEmitter<WebhookReceiverEvents> {
  /** Judge one delivery. Never rejects: a bad delivery is a response with a 4xx/5xx status. */
  receive(headers: WebhookHeaders, rawBody: Buffer | string): Promise<WebhookResponse>;
  /** Treat events for this batch as ours (the pipeline calls it once a batch is created or adopted). */
  watch(batchName: string): void;
  /** Stop treating the batch as ours and forget a hint not yet taken. */
  unwatch(batchName: string): void;
  /**
   * Sleep up to `ms` or until a hint for `batchName` arrives, whichever is first.
   * A hint that arrived while nobody waited wakes the next wait at once, so
   * none falls between two polls. Rejects with ERR_ABORTED on abort.
   */
  waitForHint(batchName: string, ms: number, signal?: AbortSignal): Promise<'hint' | 'timeout' | 'closed'>;
  /** Largest body accepted; handle()/handleWebhook() enforce it. */
  readonly maxBodyBytes: number;
  readonly stats: Readonly<WebhookReceiverStats>;
  readonly closed: boolean;
  /** Unregister, and wake every waitForHint() with 'closed'. */
  close(): void;
}

/** Open receivers in this process, for handleWebhook()/receiveWebhook(). */
export const openReceivers = new Set<WebhookReceiver>();

// A hint nobody waited for is kept until the next wait; bounded like every buffer.
const MAX_PENDING_HINTS = 10_000;

class Receiver extends EventEmitter<WebhookReceiverEvents> implements WebhookReceiver {
  readonly maxBodyBytes: number;
  readonly stats: WebhookReceiverStats = { received: 0, hints: 0, duplicates: 0, ignored: 0, rejected: 0 };
  closed = false;
  private readonly verify: WebhookVerifier;
  private readonly seen: SeenSet;
  private readonly watched = new Set<string>();
  private readonly pending = new Set<string>();
  private readonly waiters = new Map<string, Set<(why: 'hint' | 'closed') => void>>();
  private readonly isOurs: WebhookReceiverOptions['isOurs'];
  private readonly onBatchHint: WebhookReceiverOptions['onBatchHint'];

  constructor(opts: WebhookReceiverOptions) {
    super();
    const o = parseOptions('createWebhookReceiver', receiverOptionsSchema, opts);
    const { isOurs: _i, onBatchHint: _h, dedupe: _d, maxBodyBytes: _m, register: _r, ...verifyOptions } = opts;
    this.verify = createWebhookVerifier(verifyOptions);
    this.seen = new SeenSet(o.dedupe.max, o.dedupe.ttlMs);
    this.maxBodyBytes = o.maxBodyBytes;
    this.isOurs = opts.isOurs;
    this.onBatchHint = opts.onBatchHint;
    if (o.register) openReceivers.add(this);
  }

  async receive(headers: WebhookHeaders, rawBody: Buffer | string): Promise<WebhookResponse> {
    this.stats.received++;
    let event: WebhookEvent;
    try {
      event = await this.verify(headers, rawBody);
    } catch (err) {
      const error = err instanceof WebhookError ? err : new WebhookError('ERR_WEBHOOK_SIGNATURE', 'webhook verification failed', { cause: err });
      return this.reject(error);
    }
    if (!this.seen.add(event.id)) {
      this.stats.duplicates++;
      this.safely(() => this.emit('duplicate', event));
      return { status: 200, body: '{"ok":true,"duplicate":true}', outcome: 'duplicate', event };
    }
    const name = event.batchName;
    if (name === undefined || !this.owns(name, event)) {
      this.stats.ignored++;
      this.safely(() => this.emit('ignored', event));
      return { status: 200, body: '{"ok":true,"ignored":true}', outcome: 'ignored', event };
    }
    this.stats.hints++;
    this.wake(name);
    this.safely(() => this.onBatchHint?.(name, event));
    this.safely(() => this.emit('hint', name, event));
    return { status: 200, body: '{"ok":true}', outcome: 'hint', event };
  }

  private owns(name: string, event: WebhookEvent): boolean {
    if (this.watched.has(name)) return true;
    let ours = false;
    this.safely(() => void (ours = this.isOurs?.(name, event) === true));
    return ours;
  }

  /**
   * Caller code (listeners, isOurs) runs inside a delivery: its bug must not
   * turn an accepted delivery into a 500 and a retry storm. A hint lost that
   * way is caught by the safety poll; one already recorded still wakes waitForHint().
   */
  private safely(fn: () => void): void {
    try {
      fn();
    } catch {
      /* see above */
    }
  }

  /** Answer a delivery refused before verification (too large, body already parsed). */
  reject(error: WebhookError): WebhookResponse {
    this.stats.rejected++;
    this.safely(() => this.emit('rejected', error));
    return errorResponse(error);
  }

  watch(batchName: string): void {
    this.watched.add(batchName);
  }

  unwatch(batchName: string): void {
    this.watched.delete(batchName);
    this.pending.delete(batchName);
  }

  waitForHint(batchName: string, ms: number, signal?: AbortSignal): Promise<'hint' | 'timeout' | 'closed'> {
    if (signal?.aborted) return Promise.reject(abortError(signal));
    if (this.closed) return Promise.resolve('closed');
    if (this.pending.delete(batchName)) return Promise.resolve('hint');
    return new Promise((resolve, reject) => {
      let set = this.waiters.get(batchName);
      if (set === undefined) this.waiters.set(batchName, (set = new Set()));
      const waiters = set;
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        waiters.delete(wake);
        if (waiters.size === 0 && this.waiters.get(batchName) === waiters) this.waiters.delete(batchName);
      };
      const wake = (why: 'hint' | 'closed') => {
        done();
        resolve(why);
      };
      const onAbort = () => {
        done();
        reject(abortError(signal));
      };
      const timer = setTimeout(() => {
        done();
        resolve('timeout');
      }, ms);
      waiters.add(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    openReceivers.delete(this);
    for (const set of [...this.waiters.values()]) for (const wake of [...set]) wake('closed');
    this.pending.clear();
  }

  private wake(batchName: string): void {
    const set = this.waiters.get(batchName);
    if (set !== undefined && set.size > 0) {
      for (const wake of [...set]) wake('hint');
      return;
    }
    this.pending.add(batchName);
    if (this.pending.size > MAX_PENDING_HINTS) this.pending.delete(this.pending.values().next().value!);
  }
}

/** A receiver: validate options once (ERR_INVALID_OPTIONS), then receive() deliveries. */
export function createWebhookReceiver(opts: WebhookReceiverOptions = {}): WebhookReceiver {
  return new Receiver(opts);
}

/** For the HTTP adapters: refuse a delivery before it could be verified, counted like any refusal. */
export function rejectDelivery(receiver: WebhookReceiver, error: WebhookError): WebhookResponse {
  return receiver instanceof Receiver ? receiver.reject(error) : errorResponse(error);
}

/** The answer to a refused delivery: its status, and only the error's code (no detail for a forger). */
export function errorResponse(error: WebhookError): WebhookResponse {
  return { status: error.status, body: JSON.stringify({ error: { code: error.code } }), outcome: 'rejected', error };
}
