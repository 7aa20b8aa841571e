/**
 * The run's webhook (issue 13): with `webhook` set, one receiver for the
 * whole run, opened with the run and closed at its end. Stage 4 asks it for
 * the `webhookConfig` of each create, watches each batch from creation or
 * adoption until it is done, and waits between polls with waitForHint()
 * instead of a sleep: a verified event wakes the poll and one GET confirms
 * the state (an event is a hint, never a source of results). Polling goes on
 * at the user's interval as the safety net for a lost delivery.
 *
 * On a resume, a local server asked for "any free port" (port 0, no url)
 * listens again on the port the journal recorded for the run's batches, so
 * the service's retries of a delivery missed while we were down still reach
 * us; if that port is taken now, any free port, and the safety poll.
 */
import { sleep } from '../internal/backoff.js';
import { GeminiBatchError } from '../errors.js';
import type { RunJournal } from '../journal/types.js';
import type { OpenedWebhook, WebhookOptions } from '../webhook/index.js';
import type { ResolvedWebhookOptions } from '../webhook/options.js';

/** What stage 4 uses of the run's webhook. */
export interface BatchWebhook {
  /** Sent as `batch.webhookConfig` on the create of chunk `chunk` (waits for the receiver to be up). */
  config(chunk: number): Promise<{ uris: string[]; userMetadata: { runId: string; chunk: number } }>;
  /** Treat events for the batch as ours until unwatch(). */
  watch(batchName: string): void;
  unwatch(batchName: string): void;
  /** The pause between polls of `batchName`: up to `ms`, or until a hint for it arrives. */
  pause(batchName: string): (ms: number, signal?: AbortSignal) => Promise<unknown>;
}

export interface RunWebhook extends BatchWebhook {
  /** The url deliveries go to, once the receiver is up. */
  url(): Promise<string>;
  /** Stop the server (if any) and wake every wait. Idempotent; never rejects. */
  close(): Promise<void>;
}

export interface OpenRunWebhookContext {
  runId: string;
  /** The service base URL the run talks to (its JWKS verifies dynamic deliveries). */
  baseUrl?: string;
  signal: AbortSignal;
  journal?: RunJournal;
}

export function openRunWebhook(options: ResolvedWebhookOptions, ctx: OpenRunWebhookContext): RunWebhook {
  const { runId } = ctx;
  // The receiver (jose, its JWKS cache, a server) is loaded only by runs that use webhooks: ~10 MB less for the rest.
  const open = async (o: WebhookOptions) =>
    (await import('../webhook/attach.js')).openWebhookReceiver(o, {
      ...(ctx.baseUrl !== undefined ? { baseUrl: ctx.baseUrl } : {}),
      signal: ctx.signal,
      // Also covers an event that outruns the create's answer (its hint waits for the first poll pause).
      isOurs: (_name, event) => event.userMetadata?.['runId'] === runId,
    });
  const reusePort = options.url === undefined && options.listen?.port === 0 ? recordedPort(ctx.journal, options.listen.host) : undefined;
  const opening: Promise<OpenedWebhook> = (
    reusePort !== undefined
      ? open({ ...options, listen: { ...options.listen!, port: reusePort } }).catch(() => open(options))
      : open(options)
  ).catch((err: unknown) => {
    throw new GeminiBatchError('ERR_WEBHOOK_LISTEN', `webhook: could not start the receiver: ${(err as Error).message}`, { cause: err });
  });
  // Reported by the first create that needs the url; never an unhandled rejection.
  opening.catch(() => undefined);
  let closed = false;

  return {
    url: async () => (await opening).url,
    async config(chunk) {
      return { uris: [(await opening).url], userMetadata: { runId, chunk } };
    },
    watch(batchName) {
      void opening.then((w) => w.receiver.watch(batchName), () => undefined);
    },
    unwatch(batchName) {
      void opening.then((w) => w.receiver.unwatch(batchName), () => undefined);
    },
    pause: (batchName) => async (ms, signal) => {
      const w = await opening;
      // A closed receiver ('closed') must not turn the safety poll into a busy loop.
      const why = await w.receiver.waitForHint(batchName, ms, signal);
      if (why === 'closed') await sleep(ms, signal);
      return why;
    },
    async close() {
      if (closed) return;
      closed = true;
      await opening.then((w) => w.close(), () => undefined).catch(() => undefined);
    },
  };
}

/**
 * The port of the local url journaled for this run's batches on `host`, if
 * any: the newest one recorded (a resumed run that moved got a new one).
 */
function recordedPort(journal: RunJournal | undefined, host: string): number | undefined {
  if (!journal) return undefined;
  let port: number | undefined;
  for (let i = 0; ; i++) {
    const c = journal.get(i);
    if (!c) break;
    for (const url of Object.values(c.webhookUrls ?? {})) {
      if (!URL.canParse(url)) continue;
      const u = new URL(url);
      const h = u.hostname.replace(/^\[|\]$/g, '');
      if (h === host && u.port !== '') port = Number(u.port);
    }
  }
  return port;
}
