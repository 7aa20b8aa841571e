/**
 * `gemini-batch emulator`: the emulator as a long-running process, every
 * option and fault knob a flag. The main CLI calls registerEmulatorCommand.
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { EmulatorOptions, EmulatorRoute, EnqueuedTokenLimits, WebhookFaults } from './types.js';

/** Everything startEmulator takes that can come from a command line. */
export type EmulatorCommandArgs = Omit<EmulatorOptions, 'responder' | 'now'>;

const ROUTES: readonly EmulatorRoute[] = ['upload', 'files', 'create', 'get', 'list', 'cancel', 'delete', 'download', 'webhooks'];

/** Serves until SIGINT/SIGTERM, then closes and exits 0. Prints exactly `listening <url>` once ready. */
export async function runEmulatorCommand(args: EmulatorCommandArgs): Promise<void> {
  // Loaded when the command runs: registering it must not load the whole service into every CLI run.
  const { startEmulator } = await import('./index.js');
  const emu = await startEmulator({ ...args, port: args.port ?? 8787 });
  process.stdout.write(`listening ${emu.url}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await emu.close();
  process.exit(0);
}

// ---- flag parsers: a bad value is a one-line usage error, not a stack trace ----

export function parseProbability(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) {
    throw new InvalidArgumentError(`expected a probability between 0 and 1, got "${v}"`);
  }
  return n;
}

export function parseCount(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isSafeInteger(n) || n < 0) {
    throw new InvalidArgumentError(`expected a non-negative integer, got "${v}"`);
  }
  return n;
}

export function parseStatePrefix(v: string): 'BATCH_STATE_' | 'JOB_STATE_' {
  const t = v.trim().toUpperCase().replace(/_?$/, '_');
  if (t === 'BATCH_STATE_' || t === 'JOB_STATE_') return t;
  throw new InvalidArgumentError(`expected BATCH_STATE_ or JOB_STATE_, got "${v}"`);
}

export function parseSeconds(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`expected seconds (e.g. 23 or 0.5), got "${v}"`);
  return n;
}

/** `0.25` is a probability; `1,3` (or a single integer like `2`) lists 1-based job ordinals. */
export function parseJobSpec(v: string): number | number[] {
  if (/^\d+(,\d+)*$/.test(v.trim())) return v.split(',').map((x) => Number(x));
  if (/^(0?\.\d+|0|1(\.0*)?)$/.test(v.trim())) return Number(v);
  throw new InvalidArgumentError(`expected a probability (0.3) or job ordinals (1,3), got "${v}"`);
}

/** `upload=0.1,create=0.05` */
export function parseErrorRates(v: string): Partial<Record<EmulatorRoute, number>> {
  const out: Partial<Record<EmulatorRoute, number>> = {};
  for (const pair of v.split(',').filter(Boolean)) {
    const [route, p] = pair.split('=');
    if (!route || p === undefined || !ROUTES.includes(route as EmulatorRoute)) {
      throw new InvalidArgumentError(`expected route=p with route one of ${ROUTES.join(', ')}, got "${pair}"`);
    }
    out[route as EmulatorRoute] = parseProbability(p);
  }
  return out;
}

/** `429,503`; 0 means "drop the connection without an answer". */
export function parseStatuses(v: string): number[] {
  return v.split(',').map((x) => {
    const n = Number(x);
    if (x.trim() === '' || !Number.isInteger(n) || (n !== 0 && (n < 400 || n > 599))) {
      throw new InvalidArgumentError(`expected HTTP statuses like 429,503 (0 drops the connection), got "${x}"`);
    }
    return n;
  });
}

/** `tier1`, `3000000` (every model), or `gemini-2.5-flash=3000000,*=1000000` (and `tier1` among them). */
export function parseTokenLimits(v: string): EnqueuedTokenLimits {
  const t = v.trim();
  if (t === 'tier1') return 'tier1';
  if (/^\d+$/.test(t)) return Number(t);
  const out: Record<string, number> = {};
  for (const entry of t.split(',').filter(Boolean)) {
    if (entry === 'tier1') {
      out.tier1 = 1;
      continue;
    }
    const m = /^([*a-z0-9.\-/]+)=(\d+)$/i.exec(entry.trim());
    if (!m) throw new InvalidArgumentError(`expected tier1, a token count, or model=tokens,...; got "${entry}"`);
    out[m[1]!.replace(/^models\//, '')] = Number(m[2]);
  }
  return out;
}

/** `drop=0.5,duplicate=1,forge=0.1,delay-ms=2000` */
export function parseWebhookFaults(v: string): WebhookFaults {
  const out: WebhookFaults = {};
  for (const pair of v.split(',').filter(Boolean)) {
    const [name, value] = pair.split('=');
    if (name === 'drop' || name === 'duplicate' || name === 'forge') out[name] = parseProbability(value ?? '');
    else if (name === 'delay-ms') out.delayMs = parseCount(value ?? '');
    else throw new InvalidArgumentError(`expected drop=p, duplicate=p, forge=p or delay-ms=n; got "${pair}"`);
  }
  return out;
}

const kebab = (r: string): string => r.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

interface RawFlags extends EmulatorCommandArgs {
  errorRate?: Partial<Record<EmulatorRoute, number>>;
  [perRoute: `errorRate${string}`]: number | Partial<Record<EmulatorRoute, number>> | undefined;
}

/** Flags (camelCase from commander) to emulator options. */
export function flagsToArgs(flags: RawFlags): EmulatorCommandArgs {
  const { errorRate, ...rest } = flags;
  const errorRates: Partial<Record<EmulatorRoute, number>> = { ...(errorRate ?? {}) };
  const args: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rest)) {
    const m = /^errorRate([A-Z]\w*)$/.exec(k);
    if (m) errorRates[m[1]!.toLowerCase() as EmulatorRoute] = v as number;
    else if (v !== undefined) args[k] = v;
  }
  if (Object.keys(errorRates).length > 0) args.errorRates = errorRates;
  return args as EmulatorCommandArgs;
}

export function registerEmulatorCommand(program: Command): Command {
  const cmd = program
    .command('emulator')
    .description('Run a local Gemini Batch + Files API emulator, with Vertex AI batch jobs and a Cloud Storage subset on the same port (files on disk, fault injection)')
    .option('--port <n>', 'port to listen on (0 = any free port)', parseCount, 8787)
    .option('--host <host>', 'interface to bind', '127.0.0.1')
    .option('--api-key <key>', 'require this API key (x-goog-api-key or ?key=)')
    .option('--data-dir <dir>', 'where files are kept (default: a temp dir removed on exit)')
    .option('--pending-ms <ms>', 'how long a job stays PENDING', parseCount)
    .option('--running-ms <ms>', 'minimum time a job stays RUNNING', parseCount)
    .option('--max-file-bytes <n>', 'largest accepted file (default 2 GiB)', parseCount)
    .option('--max-inline-bytes <n>', 'largest inline create body (default 20 MB)', parseCount)
    .option('--max-line-bytes <n>', 'longest accepted input JSONL line', parseCount)
    .option('--error-rate <route=p,...>', `injected HTTP error rate per route (${ROUTES.join(', ')})`, parseErrorRates);
  for (const r of ROUTES) {
    cmd.option(`--error-rate-${kebab(r)} <p>`, `injected HTTP error rate on ${r} calls`, parseProbability);
  }
  cmd
    .option(
      '--error-statuses <codes>',
      'HTTP statuses injected errors draw from, e.g. 429,503; 0 drops the connection with no answer (default 429,500,503)',
      parseStatuses,
    )
    .option('--cut-upload-after-bytes <n>', 'cut the connection after N bytes of an upload piece', parseCount)
    .option('--cut-upload-every <n>', 'cut every Nth upload piece (default: first piece of a session only)', parseCount)
    .option('--shuffle-results', 'write result lines out of order')
    .option('--request-error-rate <p>', 'probability of a per-request error line', parseProbability)
    .option('--fail-jobs [spec]', 'jobs that end FAILED: probability or 1-based ordinals (bare flag: all)', parseJobSpec)
    .option('--expire-jobs [spec]', 'jobs that end EXPIRED: probability or 1-based ordinals (bare flag: all)', parseJobSpec)
    .option('--drop-results <n>', 'drop N result lines per job', parseCount)
    .option('--duplicate-results <n>', 'duplicate N result lines per job', parseCount)
    .option('--max-enqueued-requests <n>', '429 on create past this many enqueued requests', parseCount)
    .option('--ambiguous-create-rate <p>', 'probability a create succeeds but answers 503', parseProbability)
    .option('--seed <n>', 'seed for every fault decision', parseCount)
    // ---- the real service's reported quirks ----
    .option(
      '--enqueued-token-limit <spec>',
      'enqueued-token quota per model (tokens of its PENDING+RUNNING batches, counted like the responder counts prompt ' +
        'tokens: 1 per CJK/kana/Hangul character, 1 per 4 other characters of all text); over it a create answers 429 RESOURCE_EXHAUSTED with QuotaFailure + RetryInfo. ' +
        '"tier1" = 2.5 Flash 3M, 2.5 Pro 5M, 2.5 Flash-Lite 10M, 3 Pro Preview 50M; a number = every model; ' +
        'or model=tokens,... with *=tokens for the rest (default: no limit)',
      parseTokenLimits,
    )
    .option('--quota-retry-delay-s <s>', 'retryDelay of a quota 429, in seconds (default 23)', parseSeconds)
    .option('--no-batch-access', 'a project without Batch access (free tier): every create answers 429 with quotaValue "0"')
    .option('--omit-inline-metadata', 'inline responses come back without metadata (so without their key)')
    .option('--succeeded-without-output-polls <n>', 'a finished job answers SUCCEEDED without output for its first N GETs', parseCount)
    .option('--state-prefix <prefix>', 'state names on the wire: BATCH_STATE_ (the service, default) or JOB_STATE_ (the SDKs\' names)', parseStatePrefix)
    .option('--partial-output-on-failure', 'jobs that end FAILED or EXPIRED carry results for the first half of their requests')
    .option('--list-lag-ms <ms>', 'a new batch shows in batches.list only this long after its create', parseCount)
    .option(
      '--storage-limit-bytes <n>',
      'project file storage cap; an upload over it answers 429 RESOURCE_EXHAUSTED (default 20 GiB)',
      parseCount,
    )
    // ---- webhooks ----
    .option(
      '--webhook-faults <spec>',
      'webhook delivery faults: drop=p (never sent), duplicate=p (sent twice, same webhook-id), ' +
        'forge=p (bad signature), delay-ms=n',
      parseWebhookFaults,
    )
    .option('--webhook-max-attempts <n>', 'delivery attempts per event before giving up (default 4)', parseCount)
    .option('--webhook-retry-base-ms <ms>', 'first retry delay, doubled per attempt (default 200)', parseCount)
    // ---- Vertex AI batch jobs and Cloud Storage (same port; --request-error-rate, --pending-ms, --running-ms apply too) ----
    .option('--vertex-queue-ms <ms>', 'how long a Vertex job stays JOB_STATE_QUEUED (default 30)', parseCount)
    .option('--vertex-expire-jobs [spec]', 'Vertex jobs that end EXPIRED after the queue: probability or 1-based ordinals (bare flag: all)', parseJobSpec)
    .option('--vertex-fail-jobs [spec]', 'Vertex jobs that end FAILED with no output: probability or 1-based ordinals (bare flag: all)', parseJobSpec)
    .option('--vertex-cutoff-rows <n>', 'the 24 h processing cut-off, simulated: a job answers N rows, exports them, ends FAILED', parseCount)
    .option('--vertex-output-info-hidden-polls <n>', 'terminal GETs answered without outputInfo first (default 1)', parseCount)
    .option('--vertex-echo-top-level-fields', 'echo an input line\'s top-level fields (the key) in its output row (default: not echoed)')
    .option('--vertex-max-job-requests <n>', 'most requests per Vertex job (default 200000)', parseCount)
    .option('--vertex-max-job-bytes <n>', 'most input bytes per Vertex job (default 1000000000)', parseCount)
    .option('--expired-token-responses <n>', 'the next N requests with a bearer token (Vertex or Cloud Storage) answer 401', parseCount)
    .option('--gcs-cut-downloads <n>', 'cut the first N Cloud Storage downloads halfway through their body', parseCount)
    .action(async (flags: RawFlags) => {
      // A bare --fail-jobs / --expire-jobs arrives as `true`: every job.
      const f: Record<string, unknown> = { ...flags };
      // --no-batch-access is commander's batchAccess: false; the option it stands for is a limit of 0.
      if (f.batchAccess === false) f.enqueuedTokenLimit = 0;
      delete f.batchAccess;
      if (f.quotaRetryDelayS !== undefined) f.quotaRetryDelaySeconds = f.quotaRetryDelayS;
      delete f.quotaRetryDelayS;
      if (f.failJobs === true) f.failJobs = 1;
      if (f.expireJobs === true) f.expireJobs = 1;
      if (f.vertexFailJobs === true) f.vertexFailJobs = 1;
      if (f.vertexExpireJobs === true) f.vertexExpireJobs = 1;
      await runEmulatorCommand(flagsToArgs(f as RawFlags));
    });
  return cmd;
}
