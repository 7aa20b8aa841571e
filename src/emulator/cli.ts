/**
 * `gemini-batch emulator`: the emulator as a long-running process, every
 * option and fault knob a flag. The main CLI calls registerEmulatorCommand.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { startEmulator } from './index.js';
import type { EmulatorOptions, EmulatorRoute } from './types.js';

/** Everything startEmulator takes that can come from a command line. */
export type EmulatorCommandArgs = Omit<EmulatorOptions, 'responder' | 'now'>;

const ROUTES: readonly EmulatorRoute[] = ['upload', 'files', 'create', 'get', 'list', 'cancel', 'delete', 'download'];

/** Serves until SIGINT/SIGTERM, then closes and exits 0. Prints exactly `listening <url>` once ready. */
export async function runEmulatorCommand(args: EmulatorCommandArgs): Promise<void> {
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

export function parseStatuses(v: string): number[] {
  return v.split(',').map((x) => {
    const n = Number(x);
    if (!Number.isInteger(n) || n < 400 || n > 599) throw new InvalidArgumentError(`expected HTTP statuses like 429,503, got "${x}"`);
    return n;
  });
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
    .description('Run a local Gemini Batch + Files API emulator (files on disk, fault injection)')
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
    .option('--error-statuses <codes>', 'statuses injected errors draw from; 0 drops the connection (default 429,500,503)', parseStatuses)
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
    .action(async (flags: RawFlags) => {
      // A bare --fail-jobs / --expire-jobs arrives as `true`: every job.
      const f: Record<string, unknown> = { ...flags };
      if (f.failJobs === true) f.failJobs = 1;
      if (f.expireJobs === true) f.expireJobs = 1;
      await runEmulatorCommand(flagsToArgs(f as RawFlags));
    });
  return cmd;
}
