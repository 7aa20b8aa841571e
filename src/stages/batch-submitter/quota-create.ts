/**
 * One create under the enqueued-token quota: reserve the request set's
 * estimated tokens on the gate, create, and on a 429 act on the gate's
 * decision (wait for one of ours to end, back off, split, or fail in one
 * sentence). The create itself (journal intent, adopt after an ambiguous
 * answer) is the caller's function; this only decides when to call it.
 */
import { sleep } from '../../backends/gemini/retry.js';
import { quotaOf, splitTarget, type QuotaGate, type QuotaReservation } from './quota-gate.js';

export type QuotaCreateResult =
  /** Created (or adopted); release the reservation when the batch ends. */
  | { kind: 'created'; batchName: string; reservation: QuotaReservation }
  /** Over the limit: cut into parts of at most partTokens and run those instead. */
  | { kind: 'split'; limit: number; partTokens: number };

export interface QuotaCreateOptions {
  gate: QuotaGate;
  /** Estimated tokens of the request set. */
  tokens: number;
  requests: number;
  /** Makes the batch; throws the api's error (a 429 with its quota) when refused. */
  create: () => Promise<string>;
  signal?: AbortSignal;
  /** Told before each wait (job events: "waiting for the quota"). */
  onWait?: (why: 'ours' | 'backoff', detail: string) => void;
}

export async function createWithinQuota(o: QuotaCreateOptions): Promise<QuotaCreateResult> {
  const { gate } = o;
  for (;;) {
    if (o.requests > 1 && gate.needsSplit(o.tokens)) {
      const limit = gate.limit!;
      return { kind: 'split', limit, partTokens: splitTarget(limit) };
    }
    const reservation = await gate.reserve(o.tokens, o.signal);
    let batchName: string;
    try {
      batchName = await o.create();
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
    return { kind: 'created', batchName, reservation };
  }
}
