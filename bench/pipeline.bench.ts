/**
 * End-to-end benchmark: a large JSONL through geminiBatch against the
 * emulator, next to the floor (parse + stringify of every request and result
 * line) measured in the same run. Three child processes: the emulator, the
 * client, the floor, so each one's CPU and peak RSS are its own.
 *
 *   npm run bench                      # 1 GB
 *   BENCH_BYTES=100MB npm run bench
 *
 * Knobs (env): BENCH_BYTES (1GB), BENCH_LINE_BYTES (600), BENCH_MAX_REQUESTS
 * (100000), BENCH_PENDING_MS / BENCH_RUNNING_MS (10), BENCH_POLL_MS (50),
 * BENCH_KEEP=1 (keep the client's output), BENCH_CLIENT_NODE_FLAGS (e.g.
 * "--cpu-prof --cpu-prof-dir=bench/out/prof"), BENCH_RUNTIME (build: children
 * run as tsc-compiled JS from bench/out/build; tsx: straight from TS),
 * BENCH_BUILD_DIR (run the children from another compiled tree, e.g. a copy
 * of bench/out/build with a patch to try, instead of compiling). One JSON object on stdout,
 * also written to bench/out/last.json; progress on stderr.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateInput } from './lib/generate.js';
import { readKnobs } from './lib/knobs.js';
import type { Measured } from './lib/measure.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
const outDir = join(here, 'out');
mkdirSync(outDir, { recursive: true });

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);
const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

const k = readKnobs();
const buildDir = k.buildDir ?? join(outDir, 'build');

/**
 * Children run as compiled JS by default: the tsx loader alone adds ~40 MB
 * of RSS (and start-up CPU) that a user running dist/ never pays, and it
 * would be charged to the client's peak RSS.
 */
function compile(): void {
  log('compiling src + bench with tsc (bench/tsconfig.json, incremental) into bench/out/build');
  const r = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(here, 'tsconfig.json')], {
    cwd: root,
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    // tsc still emits on type errors; a type error elsewhere in src must not stop a benchmark.
    log(`tsc reported errors (JS emitted anyway):\n${r.stdout}${r.stderr}`);
  }
  if (!existsSync(join(buildDir, 'bench/client.child.js'))) throw new Error('tsc produced no bench/out/build/bench/client.child.js');
}

function nodeChild(script: string, args: string[], extraFlags: string[] = []): ChildProcess {
  const entry =
    k.runtime === 'build' ? [join(buildDir, 'bench', script.replace(/\.ts$/, '.js'))] : ['--import', 'tsx', join(here, script)];
  return spawn(process.execPath, [...extraFlags, ...entry, ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

function exited(child: ChildProcess, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, sig) => (code === 0 ? resolve() : reject(new Error(`${name} exited with ${code ?? sig}`))));
  });
}

/** Run a child to completion; it reports through a JSON file. */
async function runChild<T>(script: string, name: string, args: string[], extraFlags: string[] = []): Promise<T> {
  const resultPath = join(outDir, `${name}.result.json`);
  rmSync(resultPath, { force: true });
  const child = nodeChild(script, [resultPath, ...args], extraFlags);
  child.stdout!.pipe(process.stderr);
  await exited(child, name);
  return JSON.parse(readFileSync(resultPath, 'utf8')) as T;
}

async function startEmulatorProcess(pendingMs: number, runningMs: number) {
  const resultPath = join(outDir, 'emulator.result.json');
  rmSync(resultPath, { force: true });
  const child = nodeChild('emulator.child.ts', [resultPath, String(pendingMs), String(runningMs)]);
  const done = exited(child, 'emulator');
  const url = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      buf += d;
      const m = /listening (\S+)/.exec(buf);
      if (m) resolve(m[1]!);
    });
    done.catch(reject);
  });
  return {
    url,
    async stop(): Promise<{ cpuS: number; peakRssMB: number }> {
      child.kill('SIGTERM');
      await done;
      return JSON.parse(readFileSync(resultPath, 'utf8')) as { cpuS: number; peakRssMB: number };
    },
    kill: () => child.kill('SIGKILL'),
  };
}

/**
 * Check the output: as many lines as records, and every line starts with
 * {"key":"r<i>" for i = 0, 1, 2, ... (input order, user keys restored).
 */
function verifyOutput(path: string, records: number): { lines: number; firstKey: string; lastKey: string; errorLines: number } {
  const fd = openSync(path, 'r');
  const buf = Buffer.allocUnsafe(8 << 20);
  let carry = Buffer.alloc(0);
  let lines = 0;
  let errorLines = 0;
  let firstKey = '';
  let lastKey = '';
  const keyOf = (line: Buffer): string => {
    const m = /^\{"key":"([^"]*)"/.exec(line.toString('utf8', 0, Math.min(line.length, 64)));
    return m ? m[1]! : '';
  };
  const check = (line: Buffer) => {
    const key = keyOf(line);
    if (key !== `r${lines}`) throw new Error(`output line ${lines + 1}: key ${JSON.stringify(key)}, expected "r${lines}"`);
    if (line.includes('"error":')) errorLines++;
    if (lines === 0) firstKey = key;
    lastKey = key;
    lines++;
  };
  try {
    for (let pos = 0; ; ) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) break;
      pos += n;
      const chunk = carry.length ? Buffer.concat([carry, buf.subarray(0, n)]) : buf.subarray(0, n);
      let start = 0;
      for (let nl = chunk.indexOf(0x0a, start); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
        check(chunk.subarray(start, nl));
        start = nl + 1;
      }
      carry = Buffer.from(chunk.subarray(start));
    }
    if (carry.length) throw new Error('output does not end with a newline');
  } finally {
    closeSync(fd);
  }
  if (lines !== records) throw new Error(`output has ${lines} lines for ${records} records`);
  return { lines, firstKey, lastKey, errorLines };
}

if (k.runtime === 'build' && !k.buildDir) compile();
log(`generating ${k.bytes} bytes of ~${k.lineBytes}-byte request lines (cached in bench/out)`);
const input = generateInput(outDir, k.bytes, k.lineBytes);
log(`${input.cached ? 'cached' : 'generated'} ${input.path}: ${input.bytes} bytes, ${input.records} records`);

const emulator = await startEmulatorProcess(k.pendingMs, k.runningMs);
log(`emulator at ${emulator.url}`);
const outputPath = join(outDir, `results-${k.bytes}.jsonl`);
let client: Measured & { resultsOut?: number; errorsOut?: number; chunks?: number };
let emu: { cpuS: number; peakRssMB: number };
try {
  log('client run');
  client = await runChild('client.child.ts', 'client', [input.path, outputPath, emulator.url, String(k.maxRequests), String(k.pollMs)], k.clientNodeFlags);
  emu = await emulator.stop();
} catch (err) {
  emulator.kill();
  throw err;
}
log(`client done in ${client.wallS}s; verifying output`);
const verified = verifyOutput(outputPath, input.records);
const outputBytes = statSync(outputPath).size;

log('floor run');
const floor = await runChild<Measured & { passes: { file: string; wallS: number }[] }>('floor.child.ts', 'floor', [outDir, input.path, outputPath]);
if (!k.keep) rmSync(outputPath, { force: true });

const MB = 1e6;
const result = {
  bytes: input.bytes,
  records: input.records,
  outputBytes,
  chunks: client.chunks,
  maxRequestsPerBatch: k.maxRequests,
  client: {
    wallS: client.wallS,
    cpuS: client.cpuS,
    userS: client.userS,
    sysS: client.sysS,
    peakRssMB: client.peakRssMB,
    MBps: round(input.bytes / MB / client.wallS, 1),
    recordsPerS: Math.round(input.records / client.wallS),
    processCpuS: client.processCpuS,
    rssSamplesMB: client.rssSamplesMB,
    maxMemoryMB: client.maxMemoryMB,
  },
  floor: {
    wallS: floor.wallS,
    cpuS: floor.cpuS,
    MBps: round(input.bytes / MB / floor.wallS, 1),
    passesWallS: floor.passes.map((p) => p.wallS),
    peakRssMB: floor.peakRssMB,
  },
  ratios: {
    cpuVsFloor: round(client.cpuS / floor.cpuS),
    wallVsFloor: round(client.wallS / floor.wallS),
  },
  targets: {
    peakRssUnder150MB: client.peakRssMB < 150,
    cpuWithin1_5xFloor: client.cpuS <= 1.5 * floor.cpuS,
  },
  verified,
  emulator: emu,
  runtime: k.runtime,
  node: process.version,
  cpus: `${cpus().length} x ${cpus()[0]?.model ?? 'unknown'}`,
  date: new Date().toISOString(),
};
// Arrays of numbers on one line: the samples are read at a glance, not scrolled.
const json = JSON.stringify(result, null, 2).replace(/\[\s*([-\d.,\s]*?)\s*\]/g, (_, xs: string) => `[${xs.split(/,\s*/).join(', ')}]`);
writeFileSync(join(outDir, 'last.json'), json + '\n');
process.stdout.write(json + '\n');
