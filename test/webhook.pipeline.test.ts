/**
 * geminiBatch() with `webhook` (issue 13), over real HTTP both ways: the
 * emulator runs the jobs and POSTs signed events to our receiver; the run
 * finishes on them although its poll interval is 10 minutes, with a handful
 * of GETs. Forged and duplicated deliveries change nothing, a lost one is
 * caught by the safety poll, and a resumed run listens again where its
 * batches' events go.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../src/emulator/index.js';
import { GeminiBatchError, geminiBatch, handleWebhook } from '../src/index.js';
import type { GeminiBatchOptions } from '../src/options.js';
import type { JobEvent, KeyedResult } from '../src/types.js';
import { batchJsonl, emuEnv, KEY, readLines, runCli } from './cli.helpers.js';
import { collect, records, responseText } from './helpers/records.js';
import { eventBody, hmacHeaders, jwtHeaders, newSecret, newSigningKey, post, signJwt } from './webhook.helpers.js';

const TEN_MINUTES = { initialMs: 600_000, maxMs: 600_000 };

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function emulator(opts: EmulatorOptions = {}): Promise<RunningEmulator> {
  const e = await startEmulator({ port: 0, pendingMs: 10, runningMs: 300, webhookRetryBaseMs: 50, ...opts });
  cleanups.push(() => e.close());
  return e;
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gb-webhook-pipeline-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function options(e: RunningEmulator, tmp: string, extra: Partial<GeminiBatchOptions>): GeminiBatchOptions {
  return { model: 'gemini-2.5-flash', apiKey: 'k', baseUrl: e.url, tmpDir: tmp, mode: 'file', maxRequestsPerBatch: 10, ...extra };
}

function expectEcho(input: ReturnType<typeof records>, out: KeyedResult[]): void {
  expect(out.map((r) => r.key)).toEqual(input.map((r) => String(r.key)));
  for (const r of out) expect(responseText(r)).toContain('echo: prompt');
}

const gets = (e: RunningEmulator) => e.counters().requestsByRoute['get'] ?? 0;

describe('geminiBatch with webhook', { timeout: 30_000 }, () => {
  it('finishes on the events with a 10-minute poll interval, with a handful of GETs', async () => {
    // Jobs last long enough that each is seen running first: its end is then heard only from its event.
    const e = await emulator({ runningMs: 800 });
    const input = records(30);
    const started = Date.now();
    const stage = geminiBatch(options(e, tempDir(), { pollInterval: TEN_MINUTES, webhook: { listen: { host: '127.0.0.1', port: 0 } } }));
    // Port 0 resolved: the url the service is told to POST to.
    expect(await stage.webhookUrl()).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*\/$/);
    const out = await collect(input, stage);
    expectEcho(input, out);
    const c = e.counters();
    expect(c.batchesCreated).toBe(3);
    expect(c.webhooksDelivered).toBe(3);
    // One GET right after the create, one when the event says it ended: never a poll at 10 minutes.
    expect(gets(e)).toBeLessThanOrEqual(2 * 3);
    expect(Date.now() - started).toBeLessThan(60_000);
  });

  it('sends webhookConfig {uris: [url], userMetadata: {runId, chunk}}', async () => {
    const e = await emulator({ runningMs: 20 });
    // Our own server stands in for the service's view of the url: it records the events it forwards.
    const bodies: Array<Record<string, unknown>> = [];
    const server = await listen((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
        res.writeHead(200).end('{}');
      });
    });
    const url = `http://127.0.0.1:${port(server)}/events`;
    const out = await collect(records(12), geminiBatch(options(e, tempDir(), { runId: 'wh-meta', pollInterval: { initialMs: 50, maxMs: 100 }, webhook: { url } })));
    expect(out).toHaveLength(12);
    await until(() => bodies.length >= 2);
    const metadata = bodies.map((b) => b['user_metadata'] as { runId: string; chunk: number });
    expect(metadata.map((m) => m.runId)).toEqual(['wh-meta', 'wh-meta']);
    expect(metadata.map((m) => m.chunk).sort()).toEqual([0, 1]);
  });

  it('forwarded through handleWebhook(): forgeries get 401, duplicates 200, and nothing changes', async () => {
    const e = await emulator({ webhookFaults: { forge: 1, duplicate: 1 } });
    const statuses: number[] = [];
    const server = await listen((req, res) => {
      res.on('finish', () => statuses.push(res.statusCode));
      handleWebhook(req, res);
    });
    const input = records(20);
    const out = await collect(
      input,
      geminiBatch(options(e, tempDir(), { pollInterval: TEN_MINUTES, webhook: { url: `http://127.0.0.1:${port(server)}/hook` } })),
    );
    expectEcho(input, out);
    expect(e.counters().batchesCreated).toBe(2);
    expect(gets(e)).toBeLessThanOrEqual(2 * 2);
    // Two batches: each one real delivery, its duplicate and a forgery (the run may end before the duplicates land).
    await until(() => statuses.filter((s) => s === 401).length === 2);
    expect(statuses.filter((s) => s === 401)).toHaveLength(2);
    // The run's receiver closed with it: nothing in this process takes deliveries any more.
    const late = eventBody('batches/late', 'batch.succeeded', { runId: 'x', chunk: 0 });
    await until(() => statuses.length >= 6);
    expect((await post(`http://127.0.0.1:${port(server)}/hook`, hmacHeaders([newSecret()], late), late)).status).toBe(503);
  });

  it('a forged event alone wakes nothing: with the real one lost, the run keeps waiting for its safety poll', async () => {
    const e = await emulator({ runningMs: 50, webhookFaults: { drop: 1 } });
    const statuses: number[] = [];
    const server = await listen((req, res) => {
      res.on('finish', () => statuses.push(res.statusCode));
      handleWebhook(req, res);
    });
    const url = `http://127.0.0.1:${port(server)}/hook`;
    const jobs: JobEvent[] = [];
    const gb = geminiBatch(options(e, tempDir(), { runId: 'wh-forge', pollInterval: TEN_MINUTES, webhook: { url } }));
    gb.on('job', (j: JobEvent) => jobs.push(j));
    const running = pipeline(Readable.from(records(5)), gb, sink());
    running.catch(() => undefined);
    await until(() => jobs.some((j) => j.batchName !== undefined) && e.counters().webhooksDropped === 1);
    const batchName = jobs.find((j) => j.batchName !== undefined)!.batchName!;
    // Events about our batch, in our run's words, signed by keys the receiver does not trust.
    const body = eventBody(batchName, 'batch.succeeded', { runId: 'wh-forge', chunk: 0 });
    const stranger = await newSigningKey('not-the-service');
    expect((await post(url, jwtHeaders(await signJwt(stranger, { body, aud: url })), body)).status).toBe(401);
    expect((await post(url, hmacHeaders([newSecret()], body), body)).status).toBe(401);
    // The job is long over; give a wrongly accepted hint time to act.
    await new Promise((r) => setTimeout(r, 500));
    expect(statuses).toEqual([401, 401]);
    expect(gets(e)).toBe(1);
    expect(jobs.some((j) => j.state === 'SUCCEEDED')).toBe(false);
    gb.destroy();
    await expect(running).rejects.toBeDefined();
  });

  it('a batch shown SUCCEEDED before its output is looked at again within seconds, not at the 10-minute poll', async () => {
    const e = await emulator({ runningMs: 50, succeededWithoutOutputPolls: 1 });
    const input = records(5);
    const out = await collect(input, geminiBatch(options(e, tempDir(), { pollInterval: TEN_MINUTES, webhook: { listen: { port: 0 } } })));
    expectEcho(input, out);
    expect(gets(e)).toBeLessThanOrEqual(3);
  });

  it('a lost delivery is caught by the safety poll', async () => {
    const e = await emulator({ webhookFaults: { drop: 1 } });
    const input = records(10);
    const out = await collect(input, geminiBatch(options(e, tempDir(), { pollInterval: { initialMs: 200, maxMs: 200 }, webhook: { listen: { port: 0 } } })));
    expectEcho(input, out);
    expect(e.counters().webhooksDropped).toBe(1);
    expect(e.counters().webhooksDelivered).toBe(0);
  });

  it('a resumed run listens again on the url its batches carry, and completes on their events', async () => {
    const e = await emulator({ runningMs: 1_500 });
    const stateDir = join(tempDir(), 'state');
    const input = records(20);
    const opts = options(e, tempDir(), { stateDir, pollInterval: TEN_MINUTES, webhook: { listen: { port: 0 } } });

    // First run: destroyed once both batches are created (journaled), long before they end.
    const first = geminiBatch(opts);
    const created = new Set<string>();
    first.on('job', (j: JobEvent) => {
      if (j.batchName) created.add(j.batchName);
      if (created.size === 2) first.destroy();
    });
    await pipeline(Readable.from(input), first, sink()).catch(() => undefined);
    expect(created.size).toBe(2);
    const journal = readFileSync(join(stateDir, 'journal.jsonl'), 'utf8');
    const urls = [...journal.matchAll(/"webhookUrl":"([^"]+)"/g)].map((m) => m[1]);
    expect(urls).toHaveLength(2);
    expect(new Set(urls).size).toBe(1);

    // The resume: the same batches (adopted, not created again), finished on events sent to the journaled url.
    const out = await collect(input, geminiBatch(opts));
    expectEcho(input, out);
    expect(e.counters().batchesCreated).toBe(2);
    expect(e.counters().webhooksDelivered).toBeGreaterThanOrEqual(2);
  });

  it('a run killed (kill -9) right after a create resumes listening on the journaled url and finishes on the events', async () => {
    const e = await emulator({ runningMs: 1_000, webhookMaxAttempts: 8 });
    const stateDir = join(tempDir(), 'state');
    const input = records(20);
    // A create intended but never sent (the other chunk's, at the kill) is looked for over the adopt window first.
    const opts = options(e, tempDir(), { stateDir, adoptWindowMs: 300, pollInterval: TEN_MINUTES, webhook: { listen: { port: 0 } } });
    const child = spawn(process.execPath, ['--import', TSX, '--input-type=module', '-e', CHILD_RUN], {
      env: { ...process.env, GEMINI_BATCH_CRASH_AT: 'create-sent', RUN_OPTIONS: JSON.stringify(opts), RUN_RECORDS: JSON.stringify(input) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const [, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
    expect(stderr).toBe('');
    expect(signal).toBe('SIGKILL');
    // The intent, with its url, was on disk before the create; the answer never was.
    const journal = readFileSync(join(stateDir, 'journal.jsonl'), 'utf8');
    expect(journal).toMatch(/"t":"create-intent"[^\n]*"webhookUrl":"http:\/\/127\.0\.0\.1:\d+\/"/);
    expect(journal).not.toContain('"t":"created"');

    const out = await collect(input, geminiBatch(opts));
    expectEcho(input, out);
    const c = e.counters();
    expect(Object.values(c.createsByDisplayName)).toEqual([1, 1]);
    expect(c.webhooksDelivered).toBeGreaterThanOrEqual(1);
  });

  it('refuses a webhook option without url or listen synchronously', () => {
    const e = { url: 'http://127.0.0.1:9' } as RunningEmulator;
    expect(() => geminiBatch(options(e, tmpdir(), { webhook: {} }))).toThrow(GeminiBatchError);
    expect(() => geminiBatch(options(e, tmpdir(), { webhook: { listen: { port: 70_000 } } }))).toThrow(/webhook/);
  });
});

describe('gemini-batch run --webhook-listen', { timeout: 60_000 }, () => {
  it('finishes on the events with --poll-interval 600000, and again after a kill -9 right after a create', async () => {
    const e = await emulator({ apiKey: KEY, runningMs: 1_000, webhookMaxAttempts: 8 });
    const dir = tempDir();
    const input = join(dir, 'in.jsonl');
    writeFileSync(input, batchJsonl(30));
    // One batch at a time: at the kill no other create is intended and unsent (it would be looked for over the 90 s adopt window).
    const flags = ['-m', 'gemini-2.5-flash', '--mode', 'file', '--max-requests', '10', '--max-jobs', '1', '--poll-interval', '600000', '--webhook-listen', '127.0.0.1:0', '--quiet'];

    const out = join(dir, 'out.jsonl');
    const r = await runCli(['run', input, '-o', out, ...flags], { env: emuEnv(e) });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readLines(out).map((l) => l.key)).toEqual(Array.from({ length: 30 }, (_, i) => `k${i}`));
    expect(e.counters().batchesCreated).toBe(3);
    expect(gets(e)).toBeLessThanOrEqual(2 * 3);

    const again = join(dir, 'again.jsonl');
    const crashed = await runCli(['run', input, '-o', again, ...flags], { env: { ...emuEnv(e), GEMINI_BATCH_CRASH_AT: 'create-sent:2' } });
    expect(crashed.signal).toBe('SIGKILL');
    const resumed = await runCli(['run', input, '-o', again, ...flags], { env: emuEnv(e) });
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    expect(readFileSync(again, 'utf8')).toBe(readFileSync(out, 'utf8'));
    const created = Object.entries(e.counters().createsByDisplayName);
    expect(created).toHaveLength(6);
    expect(created.filter(([, n]) => n !== 1)).toEqual([]);
  });
});

/** tsx by its file, so the child loads the library's TypeScript. */
const TSX = pathToFileURL(join(import.meta.dirname, '../node_modules/tsx/dist/loader.mjs')).href;
/** A process that runs geminiBatch(RUN_OPTIONS) over RUN_RECORDS (GEMINI_BATCH_CRASH_AT kills it mid-way). */
const CHILD_RUN = `
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
const { geminiBatch } = await import(${JSON.stringify(pathToFileURL(join(import.meta.dirname, '../src/index.ts')).href)});
await pipeline(
  Readable.from(JSON.parse(process.env.RUN_RECORDS)),
  geminiBatch(JSON.parse(process.env.RUN_OPTIONS)),
  new Writable({ objectMode: true, write: (_r, _e, cb) => cb() }),
);
`;

function sink(): Writable {
  return new Writable({ objectMode: true, write: (_r, _e, cb) => cb() });
}

async function listen(handler: Parameters<typeof createServer>[1]): Promise<Server> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return server;
}

function port(server: Server): number {
  return (server.address() as AddressInfo).port;
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}
