/**
 * A local Gemini Batch + Files service (v1beta) for tests, examples and
 * benchmarks: `startEmulator({port: 0})`, then point a client (ours or the
 * official @google/genai SDK via httpOptions.baseUrl) at `url`. The same port
 * serves Vertex AI batch prediction jobs and a Cloud Storage subset
 * (GOOGLE_VERTEX_BASE_URL / STORAGE_EMULATOR_HOST = `url`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchStore } from './batch-store.js';
import type { Context, Settings } from './context.js';
import { Counters } from './counters.js';
import { Faults } from './faults.js';
import { FileStore } from './file-store.js';
import { checkOptions } from './options.js';
import { defaultResponder } from './responder.js';
import { createRouter } from './router.js';
import { BatchRoutes } from './routes-batches.js';
import { JobRunner } from './runner.js';
import type { EmulatorOptions, RunningEmulator } from './types.js';
import { Uploads } from './uploads.js';
import { createCloudServices } from './vertex/service.js';
import { WebhookRoutes } from './routes-webhooks.js';
import { WebhookDeliverer } from './webhook-delivery.js';
import { WebhookSigner } from './webhook-signing.js';
import { WebhookStore } from './webhook-store.js';

export type * from './types.js';
export { countTokens, defaultResponder, fnv1a, promptTokens } from './responder.js';
export { TIER1_ENQUEUED_TOKENS, QUOTA_RETRY_SECONDS } from './quota.js';
export { EmulatorOptionsError } from './options.js';

/** The service's 20 GB of files per project (as GiB, like its 2 GB per file is 2 GiB). */
export const DEFAULT_STORAGE_LIMIT_BYTES = 20 * 1024 * 1024 * 1024;

function settingsOf(o: EmulatorOptions): Settings {
  return {
    apiKey: o.apiKey,
    pendingMs: o.pendingMs ?? 50,
    runningMs: o.runningMs ?? 100,
    maxFileBytes: o.maxFileBytes ?? 2 * 1024 * 1024 * 1024,
    maxInlineBytes: o.maxInlineBytes ?? 20 * 1000 * 1000,
    maxLineBytes: o.maxLineBytes ?? 32 * 1024 * 1024,
    responder: o.responder ?? defaultResponder,
    shuffleResults: o.shuffleResults ?? false,
    dropResults: o.dropResults ?? 0,
    duplicateResults: o.duplicateResults ?? 0,
    maxEnqueuedRequests: o.maxEnqueuedRequests,
    enqueuedTokenLimit: o.enqueuedTokenLimit,
    omitInlineMetadata: o.omitInlineMetadata ?? false,
    downloadUploadedFiles: o.downloadUploadedFiles ?? false,
    succeededWithoutOutputPolls: o.succeededWithoutOutputPolls ?? 0,
    listLagMs: o.listLagMs ?? 0,
    storageLimitBytes: o.storageLimitBytes ?? DEFAULT_STORAGE_LIMIT_BYTES,
  };
}

/**
 * Starts the emulator. Options are checked first: a bad one throws
 * EmulatorOptionsError (code ERR_INVALID_OPTIONS) synchronously.
 */
export function startEmulator(opts: EmulatorOptions = {}): Promise<RunningEmulator> {
  return start(checkOptions(opts));
}

async function start(opts: EmulatorOptions): Promise<RunningEmulator> {
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'gemini-emulator-'));
  const now = opts.now ?? Date.now;
  const ctx: Context = {
    settings: settingsOf(opts),
    options: opts,
    dataDir,
    files: new FileStore(dataDir, now),
    faults: new Faults(opts),
    counters: new Counters(),
    now,
  };
  const store = new BatchStore(ctx);
  const runner = new JobRunner(ctx, store);
  const uploads = new Uploads(ctx);
  const host = opts.host ?? '127.0.0.1';
  let url = '';
  const signer = new WebhookSigner();
  const webhookStore = new WebhookStore(now);
  const deliverer = new WebhookDeliverer(ctx, webhookStore, signer, () => url);
  store.onFinish = (b) => deliverer.batchEnded(b);
  const webhooks = { routes: new WebhookRoutes(webhookStore, deliverer), signer };
  const devApi = createRouter(ctx, uploads, new BatchRoutes(ctx, store, runner), webhooks, () => url);
  // Vertex batch jobs and Cloud Storage share the port; their paths never collide with the Developer API's.
  const cloud = createCloudServices(ctx, () => url);
  const server = createServer((req, res) => {
    if (!cloud.handle(req, res)) devApi(req, res);
  });
  // Uploads of 8 MiB pieces over slow links must not hit Node's default request timeout.
  server.requestTimeout = 0;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    dataDir,
    counters: () => ctx.counters.snapshot(),
    close: () =>
      (closing ??= (async () => {
        deliverer.close();
        store.closeAll();
        ctx.counters.stop();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await closed;
        await runner.close();
        await cloud.close();
        if (ownDir) rmSync(dataDir, { recursive: true, force: true });
      })()),
  };
}
