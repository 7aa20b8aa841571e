/**
 * End-to-end benchmark of both ways to use the product, the library and the
 * `gemini-batch` CLI, against the emulator, on the line shapes the real
 * service produces (result lines key LAST, field order inside `response`
 * varying), next to two baselines measured in the same run:
 *
 * - floor: read, JSON.parse + JSON.stringify every request line and every
 *   result line (what any JSONL-in, JSONL-out program pays at least);
 * - sdk: the official @google/genai recipe (whole files in memory, join by key);
 * - cli: the real bin (a copy of bin/ over the compiled src), `run INPUT -m ... -o OUT`;
 * - lib: the library as the README's quickstart embeds it (bench/library.child.ts:
 *   split2(JSON.parse) -> geminiBatch() -> JSON.stringify per result).
 *
 * Each runs as its own process, under GNU time: wall, CPU user + sys and peak
 * RSS of the whole process. Each gets a fresh emulator process. No contender
 * gets a V8 flag or a NODE_OPTIONS value unless a knob asks for one.
 *
 *   npm run bench                                   # 100MB,200MB,1GB + the image run
 *   BENCH_SIZES=100MB BENCH_IMAGES=0 npm run bench
 *   BENCH_SIZES=100MB,1GB,5GB npm run bench          # the 5 GB run is opt-in
 *   BENCH_NODES=current,/path/to/node24 npm run bench  # the whole set once per node binary
 *
 * Knobs: bench/README.md. One JSON object on stdout, also written to
 * bench/out/last.json; progress on stderr.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { generateImageInput, generateInput, type Generated } from './lib/generate.js';
import { readKnobs, type Backend } from './lib/knobs.js';
import { runTimed, type Timed } from './lib/timed.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
const outDir = join(here, 'out');
mkdirSync(outDir, { recursive: true });

const log = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;
const MB = 1e6;

const k = readKnobs();

/**
 * What is measured: by default the committed tree (BENCH_REF=HEAD), not the
 * working tree, which other people may be half-way through changing. The
 * ref's src/, bin/ and package.json are extracted with `git archive` into
 * bench/out/ref-<sha>/ (read-only for the repository), the bench's own
 * children (bench/*.ts, bench/lib) copied next to them from the working tree,
 * and all compiled there. BENCH_REF=worktree compiles the working tree in
 * place (bench/out/build).
 */
function prepareTree(): { srcRoot: string; buildDir: string; tsconfig: string; label: string } {
  if (k.ref === 'worktree') return { srcRoot: root, buildDir: join(outDir, 'build'), tsconfig: join(here, 'tsconfig.json'), label: 'worktree' };
  const sha = spawnSync('git', ['rev-parse', '--short=10', k.ref], { cwd: root, encoding: 'utf8' }).stdout.trim();
  if (!sha) throw new Error(`BENCH_REF: git cannot resolve "${k.ref}"`);
  const dir = join(outDir, `ref-${sha}`);
  if (!existsSync(join(dir, 'src'))) {
    mkdirSync(dir, { recursive: true });
    // scripts/ holds the CLI's bundler (scripts/bundle-cli.mjs) in trees that have one.
    const hasScripts = spawnSync('git', ['cat-file', '-e', `${sha}:scripts`], { cwd: root }).status === 0;
    const paths = ['src', 'bin', 'package.json', 'tsconfig.json', ...(hasScripts ? ['scripts'] : [])];
    const archive = spawnSync('git', ['archive', '--format=tar', sha, ...paths], { cwd: root, maxBuffer: 1 << 28 });
    if (archive.status !== 0) throw new Error(`git archive ${sha} failed: ${archive.stderr.toString()}`);
    const tar = spawnSync('tar', ['-x', '-C', dir], { input: archive.stdout });
    if (tar.status !== 0) throw new Error(`tar failed: ${tar.stderr.toString()}`);
  }
  // The bench's own children, as they are now (they may be newer than the ref).
  mkdirSync(join(dir, 'bench', 'lib'), { recursive: true });
  for (const f of readdirSync(here)) if (f.endsWith('.ts')) copyFileSync(join(here, f), join(dir, 'bench', f));
  for (const f of readdirSync(join(here, 'lib'))) if (f.endsWith('.ts')) copyFileSync(join(here, 'lib', f), join(dir, 'bench', 'lib', f));
  const tsconfig = join(dir, 'tsconfig.bench.json');
  writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: './tsconfig.json',
      compilerOptions: { rootDir: '.', outDir: 'build', noEmit: false, declaration: false, sourceMap: false, incremental: true, tsBuildInfoFile: 'build/.tsbuildinfo' },
      include: ['src', 'bench/*.ts', 'bench/lib'],
    }),
  );
  return { srcRoot: dir, buildDir: join(dir, 'build'), tsconfig, label: `${k.ref} (${sha})` };
}

const tree = k.buildDir ? { srcRoot: root, buildDir: k.buildDir, tsconfig: '', label: `build dir ${k.buildDir}` } : prepareTree();
const buildDir = tree.buildDir;
const bin = join(buildDir, 'bin', 'gemini-batch.js');
/** The node binary the contenders of the current pass run under (BENCH_NODES: one pass per binary). */
let node = process.execPath;

/**
 * Children run as compiled JS, and the CLI through a copy of the real bin/:
 * the build dir holds the tsc output of src/ and bench/, a `dist` link to
 * its `src` (what bin/ imports), a copy of package.json (the CLI reads its
 * version from it) and bin/gemini-batch.js.
 */
function compile(): void {
  log(`compiling ${tree.label} with tsc (incremental) into ${relative(root, buildDir)}`);
  const r = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', tree.tsconfig], {
    cwd: tree.srcRoot,
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    // tsc still emits on type errors; a type error elsewhere in src must not stop a benchmark.
    log(`tsc reported errors (JS emitted anyway):\n${r.stdout}${r.stderr}`.slice(0, 4000));
  }
  if (!existsSync(join(buildDir, 'src/cli/main.js'))) throw new Error(`tsc produced no ${buildDir}/src/cli/main.js`);
  copyFileSync(join(tree.srcRoot, 'package.json'), join(buildDir, 'package.json'));
  if (!existsSync(join(buildDir, 'dist'))) symlinkSync('src', join(buildDir, 'dist'));
  // Trees whose bin runs a bundled CLI build it as `npm run build` does.
  const bundler = join(tree.srcRoot, 'scripts', 'bundle-cli.mjs');
  if (existsSync(bundler)) {
    const b = spawnSync(process.execPath, [bundler, join(buildDir, 'dist')], { cwd: tree.srcRoot, encoding: 'utf8' });
    if (b.status !== 0) throw new Error(`bundling the CLI failed:\n${b.stdout}${b.stderr}`);
  }
  mkdirSync(join(buildDir, 'bin'), { recursive: true });
  copyFileSync(join(tree.srcRoot, 'bin', 'gemini-batch.js'), bin);
  chmodSync(bin, 0o755);
}

function exited(child: ChildProcess, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, sig) => (code === 0 ? resolve() : reject(new Error(`${name} exited with ${code ?? sig}`))));
  });
}

async function startEmulatorProcess() {
  const resultPath = join(outDir, 'emulator.result.json');
  rmSync(resultPath, { force: true });
  const child = spawn(
    process.execPath,
    [join(buildDir, 'bench/emulator.child.js'), resultPath, String(k.pendingMs), String(k.runningMs), k.keyLast],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
  );
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
 * Check an output file: one line per record, line i has key r<i> (at either
 * end of the line), and count error lines. Reads in 8 MiB blocks; a 1 MB
 * image line is checked at its two ends only.
 */
function verifyOutput(path: string, records: number): { lines: number; errorLines: number } {
  const fd = openSync(path, 'r');
  const buf = Buffer.allocUnsafe(8 << 20);
  let carry = Buffer.alloc(0);
  let lines = 0;
  let errorLines = 0;
  const keyOf = (line: Buffer): string => {
    const head = /^\{"key":"([^"]*)"/.exec(line.toString('utf8', 0, Math.min(line.length, 64)));
    if (head) return head[1]!;
    const tail = /"key":"([^"]*)"\}$/.exec(line.toString('utf8', Math.max(0, line.length - 64)));
    return tail ? tail[1]! : '';
  };
  const check = (line: Buffer) => {
    const key = keyOf(line);
    if (key !== `r${lines}`) throw new Error(`${path} line ${lines + 1}: key ${JSON.stringify(key)}, expected "r${lines}"`);
    const head = line.toString('utf8', 0, Math.min(line.length, 200));
    if (head.includes('"error":') && !head.includes('"response":')) errorLines++;
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
    if (carry.length) throw new Error(`${path} does not end with a newline`);
  } finally {
    closeSync(fd);
  }
  if (lines !== records) throw new Error(`${path} has ${lines} lines for ${records} records`);
  return { lines, errorLines };
}

interface Figures {
  wallS: number;
  cpuS: number | null;
  userS: number | null;
  sysS: number | null;
  peakRssMB: number;
  MBps?: number;
  rssPeakAtS?: number;
  rssP50MB?: number;
  rssP90MB?: number;
  rssSamplesMB?: number[];
  /** BENCH_CLI_EVENTS=1: per chunk, seconds into the run when it first reached each state. */
  chunkPhasesS?: Record<string, unknown>;
  /** What the child measured about itself (floor and sdk; cli and lib with BENCH_TRACE=1). */
  inner?: unknown;
  emulator?: { cpuS: number; peakRssMB: number };
  verified?: { lines: number; errorLines: number };
  error?: string;
  skipped?: string;
  runs?: Omit<Figures, 'runs'>[];
  /** With BENCH_REPEAT > 1: the median of each figure over the runs, and the range of the peak. */
  medians?: { wallS: number; cpuS: number | null; peakRssMB: number; rssP90MB: number | null; peakRangeMB: [number, number] };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : round((s[s.length / 2 - 1]! + s[s.length / 2]!) / 2, 3);
};

function figuresOf(t: Timed, input: Generated): Figures {
  return {
    wallS: t.wallS,
    cpuS: t.cpuS,
    userS: t.userS,
    sysS: t.sysS,
    peakRssMB: t.peakRssMB,
    MBps: round(input.bytes / MB / t.wallS, 1),
    rssPeakAtS: t.rssPeakAtS,
    rssP50MB: t.rssP50MB,
    rssP90MB: t.rssP90MB,
    rssSamplesMB: t.rssSamplesMB,
  };
}

function failed(t: Timed, what: string): Error | undefined {
  if (t.exitCode === 0) return undefined;
  return new Error(`${what} exited with ${t.exitCode ?? t.signal}: ${t.stderrTail.trim().split('\n').slice(-5).join(' | ')}`);
}

/** One contender once: a fresh emulator, the measured process, checks. */
async function runOnce(
  name: string,
  input: Generated,
  launch: (url: string, output: string) => { cmd: string; args: string[]; env?: NodeJS.ProcessEnv },
  opts: { verify: boolean; keepOutput?: string },
): Promise<Figures> {
  const output = join(outDir, `${name.replace(/[^\w.-]+/g, '_')}.out.jsonl`);
  const stateDir = join(outDir, '.gemini-batch');
  rmSync(output, { force: true });
  rmSync(stateDir, { recursive: true, force: true });
  const emulator = await startEmulatorProcess();
  let t: Timed;
  const phases = new Map<number, Record<string, number>>();
  let lastOutAtS = 0;
  const onStderrLine = k.cliEvents
    ? (line: string, atS: number) => {
        if (!line.startsWith('{')) return;
        try {
          const e = JSON.parse(line) as { event?: string; chunk?: number; state?: string; resultsOut?: number };
          if (e.event === 'job' && e.chunk !== undefined && e.state) {
            const p = phases.get(e.chunk) ?? {};
            p[e.state] ??= Math.round(atS * 10) / 10;
            phases.set(e.chunk, p);
          }
          if (e.event === 'progress' && e.resultsOut) lastOutAtS = atS;
        } catch {
          /* not an event */
        }
      }
    : undefined;
  const innerFiles = ['sdk.result.json', 'cli.trace.json', 'lib.trace.json', 'cli-vertex.trace.json', 'lib-vertex.trace.json'];
  for (const f of innerFiles) rmSync(join(outDir, f), { force: true });
  rmSync(join(outDir, '.gemini-batch-lib'), { recursive: true, force: true });
  try {
    const { cmd, args, env } = launch(emulator.url, output);
    t = await runTimed(cmd, args, { cwd: root, scratch: outDir, env, echo: process.env.BENCH_VERBOSE === '1', ...(onStderrLine ? { onStderrLine } : {}) });
  } catch (err) {
    emulator.kill();
    throw err;
  }
  const emu = await emulator.stop();
  const fig: Figures = { ...figuresOf(t, input), emulator: emu };
  if (phases.size) fig.chunkPhasesS = { ...Object.fromEntries(phases), lastResultsProgressAtS: Math.round(lastOutAtS * 10) / 10 };
  const err = failed(t, name);
  if (err) fig.error = err.message;
  else if (opts.verify) {
    try {
      fig.verified = verifyOutput(output, input.records);
      for (const f of innerFiles) if (existsSync(join(outDir, f))) fig.inner = JSON.parse(readFileSync(join(outDir, f), 'utf8'));
    } catch (e) {
      fig.error = (e as Error).message;
    }
  }
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(join(outDir, '.gemini-batch-lib'), { recursive: true, force: true });
  if (opts.keepOutput) {
    rmSync(opts.keepOutput, { force: true });
    if (existsSync(output)) copyFileSync(output, opts.keepOutput);
  }
  if (!k.keep) rmSync(output, { force: true });
  return fig;
}

/** Each finished run of a contender, as it comes: bench/out/partial.json keeps what a run cut short had done. */
const finishedRuns: { name: string; node: string; figures: Figures }[] = [];

async function runLogged(name: string, once: () => Promise<Figures>, i: number): Promise<Figures> {
  log(`${name}${k.repeat > 1 ? ` (${i + 1}/${k.repeat})` : ''}`);
  const f = await once();
  finishedRuns.push({ name, node, figures: f });
  savePartial();
  log(
    `${name}: ${f.error ? `FAILED ${f.error.slice(0, 300)} ` : ''}wall ${f.wallS}s cpu ${f.cpuS}s peak ${f.peakRssMB}MB at ${f.rssPeakAtS}s (p50 ${f.rssP50MB} p90 ${f.rssP90MB})` +
      (f.emulator ? ` (emulator cpu ${f.emulator.cpuS}s)` : ''),
  );
  return f;
}

/** Repeat a contender k.repeat times; the figures are the run with the median wall, all runs listed. */
async function measure(name: string, once: () => Promise<Figures>): Promise<Figures> {
  const runs: Figures[] = [];
  for (let i = 0; i < k.repeat; i++) runs.push(await runLogged(name, once, i));
  return summarise(name, runs);
}

/**
 * Several contenders repeated k.repeat times, interleaved (A B A B, not A A B B): on a
 * shared machine the load drifts, and contenders compared by ratio should meet the same load.
 */
async function measureInterleaved(entries: { name: string; once: () => Promise<Figures> }[]): Promise<Figures[]> {
  const runs = entries.map(() => [] as Figures[]);
  for (let i = 0; i < k.repeat; i++) for (const [j, e] of entries.entries()) runs[j]!.push(await runLogged(e.name, e.once, i));
  return entries.map((e, j) => summarise(e.name, runs[j]!));
}

function summarise(name: string, runs: Figures[]): Figures {
  if (runs.length === 1) return runs[0]!;
  const sorted = [...runs].sort((a, b) => a.wallS - b.wallS);
  const good = runs.filter((r) => !r.error);
  const peaks = good.map((r) => r.peakRssMB);
  const medians = good.length
    ? {
        wallS: median(good.map((r) => r.wallS)),
        cpuS: good.every((r) => r.cpuS !== null) ? median(good.map((r) => r.cpuS!)) : null,
        peakRssMB: median(peaks),
        rssP90MB: good.every((r) => r.rssP90MB !== undefined) ? median(good.map((r) => r.rssP90MB!)) : null,
        peakRangeMB: [Math.min(...peaks), Math.max(...peaks)] as [number, number],
      }
    : undefined;
  if (medians) log(`${name}: medians ${JSON.stringify(medians)}`);
  return { ...sorted[Math.floor(sorted.length / 2)]!, runs, ...(medians ? { medians } : {}) };
}

const cliEnv = (url: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  ...process.env,
  GEMINI_API_KEY: 'bench',
  GOOGLE_API_KEY: '',
  GOOGLE_GEMINI_BASE_URL: url,
  // The Vertex backend's endpoints and token, the official clients' conventions: the same emulator process serves both.
  GOOGLE_VERTEX_BASE_URL: url,
  STORAGE_EMULATOR_HOST: url,
  GOOGLE_OAUTH_ACCESS_TOKEN: 'bench',
  ...extra,
});

/** The name of a product run's result: `cli` / `lib` on the Developer API (as before), `cli-vertex` / `lib-vertex`. */
const resultName = (who: 'cli' | 'lib', backend: Backend): string => (backend === 'gemini' ? who : `${who}-vertex`);
/** What the CLI adds to run on a backend. */
const backendArgs = (backend: Backend): string[] =>
  backend === 'vertex' ? ['--backend', 'vertex', '--project', 'bench', '--location', 'us-central1', '--bucket', 'gs://bench/runs'] : [];

/**
 * What the product's runs (cli, lib) get besides their arguments: diagnostic node flags
 * (BENCH_NODE_FLAGS), bench/lib/mem-trace preloaded (BENCH_TRACE), a NODE_OPTIONS value a
 * user may choose (BENCH_NODE_OPTIONS). None by default: the figures are the code's.
 */
function productLaunch(contender: string, script: string, records: number, args: string[], url: string) {
  const trace = k.trace ? ['--import', pathToFileURL(join(buildDir, 'bench/lib/mem-trace.js')).href] : [];
  const env = cliEnv(url, {
    ...(k.trace ? { BENCH_TRACE_OUT: join(outDir, `${contender}.trace.json`) } : {}),
    ...(k.trace === 2 ? { BENCH_TRACE_HEAP_OUT: join(outDir, 'prof', `${contender}-at-peak-${records}.heapprofile`) } : {}),
    ...(k.nodeOptions ? { NODE_OPTIONS: k.nodeOptions } : {}),
  });
  // The bin is a plain node script: run it with the chosen node, not the one its shebang finds on PATH.
  return { cmd: node, args: [...k.nodeFlags, ...trace, script, ...args], env };
}

/** The CLI: `node bin/gemini-batch.js run INPUT -m ... -o OUT` (+ `--backend vertex ...`). */
function cliLaunch(input: Generated, cliArgs: string[], backend: Backend) {
  return (url: string, output: string) =>
    productLaunch(
      resultName('cli', backend),
      bin,
      input.records,
      ['run', input.path, '-m', 'gemini-2.5-flash', '-o', output, '--poll-interval', String(k.pollMs), k.cliEvents ? '--json' : '--quiet', ...backendArgs(backend), ...cliArgs],
      url,
    );
}

/** The library as the README's quickstart embeds it (bench/library.child.ts). */
function libLaunch(input: Generated, backend: Backend) {
  return (url: string, output: string) =>
    productLaunch(
      resultName('lib', backend),
      join(buildDir, 'bench/library.child.js'),
      input.records,
      [input.path, output, url, String(k.pollMs), join(outDir, '.gemini-batch-lib'), ...(backend === 'gemini' ? [] : [backend])],
      url,
    );
}

/** cli or lib on every backend of BENCH_BACKENDS, interleaved per repeat, into `results`; true when one wrote a results file for the floor. */
async function productRuns(
  who: 'cli' | 'lib',
  label: string,
  input: Generated,
  launch: (backend: Backend) => ReturnType<typeof libLaunch>,
  results: Record<string, Figures>,
  keepOutput: string | undefined,
): Promise<boolean> {
  const entries = k.backends.map((backend) => {
    const name = resultName(who, backend);
    // The Developer API's output is the one the floor reads (else the first backend's).
    const keep = keepOutput && backend === k.backends[0] ? keepOutput : undefined;
    return { name: `${label} ${name}`, once: () => runOnce(`${name}-${label}`, input, launch(backend), { verify: true, ...(keep ? { keepOutput: keep } : {}) }) };
  });
  const figures = await measureInterleaved(entries);
  k.backends.forEach((backend, j) => (results[resultName(who, backend)] = figures[j]!));
  return !figures[0]!.error;
}

function nodeChildLaunch(script: string, args: (url: string, output: string) => string[]) {
  return (url: string, output: string) => ({ cmd: node, args: [join(buildDir, 'bench', script), ...args(url, output)] });
}

/** The floor reads two files: the requests and a results file (the CLI's, else the SDK recipe's). */
async function floorRun(input: Generated, resultsFile: string | undefined): Promise<Figures> {
  const resultPath = join(outDir, 'floor.result.json');
  const files = resultsFile ? [input.path, resultsFile] : [input.path];
  const t = await runTimed(node, [join(buildDir, 'bench/floor.child.js'), resultPath, outDir, ...files], { cwd: root, scratch: outDir });
  const fig = figuresOf(t, input);
  const err = failed(t, 'floor');
  if (err) fig.error = err.message;
  else fig.inner = JSON.parse(readFileSync(resultPath, 'utf8'));
  if (!resultsFile) fig.error = 'no results file to read (cli and sdk both failed or did not run): requests only';
  return fig;
}

// The SDK recipe reads each file into one string: V8 refuses strings over 2^29-24 characters.
const MAX_STRING = 2 ** 29 - 24;

async function textRun(label: string, bytes: number) {
  log(`== ${label}: generating ${bytes} bytes of ~${k.lineBytes}-byte request lines (cached in bench/out)`);
  const input = generateInput(outDir, bytes, k.lineBytes);
  log(`${input.cached ? 'cached' : 'generated'} ${input.path}: ${input.bytes} bytes, ${input.records} records`);
  const results: Record<string, Figures> = {};
  const resultsCopy = join(outDir, `floor-results-${bytes}.jsonl`);
  let haveResults = false;

  if (k.contenders.includes('sdk')) {
    if (input.bytes > MAX_STRING && !k.sdkForce) {
      results.sdk = {
        wallS: NaN, cpuS: null, userS: null, sysS: null, peakRssMB: NaN,
        skipped: `input ${input.bytes} bytes: the recipe reads it into one string, over V8's ${MAX_STRING}-character limit (ERR_STRING_TOO_LONG); BENCH_SDK_FORCE=1 runs it anyway`,
      };
    } else {
      results.sdk = await measure(`${label} sdk`, () =>
        runOnce(`sdk-${label}`, input, nodeChildLaunch('sdk-recipe.child.js', (url, out) => [join(outDir, 'sdk.result.json'), input.path, out, url, String(k.pollMs), outDir]), {
          verify: true,
          keepOutput: k.contenders.includes('cli') || k.contenders.includes('lib') ? undefined : resultsCopy,
        }),
      );
      haveResults ||= !results.sdk.error && !k.contenders.includes('cli') && !k.contenders.includes('lib');
    }
  }
  if (k.contenders.includes('cli')) {
    const wrote = await productRuns('cli', label, input, (b) => cliLaunch(input, k.cliArgs, b), results, haveResults ? undefined : resultsCopy);
    haveResults ||= wrote;
  }
  if (k.contenders.includes('lib')) {
    const wrote = await productRuns('lib', label, input, (b) => libLaunch(input, b), results, haveResults ? undefined : resultsCopy);
    haveResults ||= wrote;
  }
  if (k.contenders.includes('floor') && input.bytes > k.floorMaxBytes) {
    results.floor = { wallS: NaN, cpuS: null, userS: null, sysS: null, peakRssMB: NaN, skipped: `input over BENCH_FLOOR_MAX (${k.floorMaxBytes} bytes)` };
  } else if (k.contenders.includes('floor')) {
    results.floor = await measure(`${label} floor`, () => floorRun(input, haveResults && existsSync(resultsCopy) ? resultsCopy : undefined));
  }
  rmSync(resultsCopy, { force: true });
  return { label, bytes: input.bytes, records: input.records, results };
}

async function imageRun(count: number) {
  log(`== images: ${count} requests answered with ~1 MB base64 images`);
  const input = generateImageInput(outDir, count);
  const results: Record<string, Figures> = {};
  if (k.contenders.includes('cli')) await productRuns('cli', 'images', input, (b) => cliLaunch(input, [], b), results, undefined);
  if (k.contenders.includes('lib')) await productRuns('lib', 'images', input, (b) => libLaunch(input, b), results, undefined);
  return { label: `images-${count}`, bytes: input.bytes, records: input.records, results };
}

// ---- goals (issue 18, on Node 24; the same verdicts are printed for every node line) ----

type Run = Awaited<ReturnType<typeof textRun>>;
interface Verdict {
  goal: string;
  verdict: 'met' | 'not met' | 'not measured';
  figures: Record<string, number | string | null>;
}

const GOALS = {
  lib: { rssMB: 150, flatMB: 15, cpuVsFloor: 1.0 },
  cli: { rssMB: 130, flatMB: 15, cpuVsFloor: 0.8, wallVsSdkAt200MB: 0.9 },
} as const;

function verdicts(runs: Run[]): Verdict[] {
  const ok = (f: Figures | undefined): f is Figures => f !== undefined && !f.error && !f.skipped;
  const peak = (f: Figures) => f.medians?.peakRssMB ?? f.peakRssMB;
  const cpu = (f: Figures) => f.medians?.cpuS ?? f.cpuS;
  const wall = (f: Figures) => f.medians?.wallS ?? f.wallS;
  const text = runs.filter((r) => !r.label.startsWith('images'));
  const out: Verdict[] = [];
  for (const who of ['lib', 'cli'] as const) {
    const g = GOALS[who];
    for (const run of text) {
      const f = run.results[who];
      out.push({
        goal: `${who} peak RSS <= ${g.rssMB} MB at ${run.label}`,
        verdict: !ok(f) ? 'not measured' : peak(f) <= g.rssMB ? 'met' : 'not met',
        figures: { peakRssMB: f ? peak(f) : null, ...(f?.medians ? { rangeMB: f.medians.peakRangeMB.join('-') } : {}) },
      });
    }
    // Flat: the largest text run against the smallest (5 GB against 100 MB in the full run).
    const small = text[0]?.results[who];
    const large = text.at(-1)?.results[who];
    if (text.length > 1) {
      out.push({
        goal: `${who} flat: peak RSS at ${text.at(-1)!.label} within ${g.flatMB} MB of ${text[0]!.label}`,
        verdict: !ok(small) || !ok(large) ? 'not measured' : peak(large) - peak(small) <= g.flatMB ? 'met' : 'not met',
        figures: { small: small ? peak(small) : null, large: large ? peak(large) : null, diffMB: ok(small) && ok(large) ? round(peak(large) - peak(small), 1) : null },
      });
    }
    for (const run of text) {
      const f = run.results[who];
      const floor = run.results.floor;
      const ratio = ok(f) && ok(floor) && cpu(f) !== null && cpu(floor) ? round(cpu(f)! / cpu(floor)!) : null;
      if (floor?.skipped) continue;
      out.push({
        goal: `${who} CPU <= ${g.cpuVsFloor}x the floor at ${run.label}`,
        verdict: ratio === null ? 'not measured' : ratio <= g.cpuVsFloor ? 'met' : 'not met',
        figures: { cpuS: f ? cpu(f) : null, floorCpuS: floor ? cpu(floor) : null, ratio },
      });
    }
  }
  const r200 = text.find((r) => r.label.toUpperCase() === '200MB')?.results;
  if (r200) {
    const cli = r200.cli;
    const sdk = r200.sdk;
    const ratio = ok(cli) && ok(sdk) ? round(wall(cli) / wall(sdk)) : null;
    out.push({
      goal: `cli wall <= ${GOALS.cli.wallVsSdkAt200MB}x the SDK recipe at 200MB`,
      verdict: ratio === null ? 'not measured' : ratio <= GOALS.cli.wallVsSdkAt200MB ? 'met' : 'not met',
      figures: { cliWallS: ok(cli) ? wall(cli) : null, sdkWallS: ok(sdk) ? wall(sdk) : null, ratio },
    });
  }
  return out;
}

/** Issue 19: the Vertex backend's figures against the Developer API path's, same input, same pass. */
const VERTEX_MAX_RATIO = 1.1;

/** `cliVertexWallVsGemini`, `...CpuVsGemini`, `...PeakVsGemini` (and lib's): medians when repeated. */
function vertexRatios(r: Run): Record<string, number | null> {
  const ok = (f: Figures | undefined): f is Figures => f !== undefined && !f.error && !f.skipped;
  const out: Record<string, number | null> = {};
  for (const who of ['cli', 'lib'] as const) {
    const g = r.results[who];
    const v = r.results[`${who}-vertex`];
    if (!g || !v) continue;
    const fig = {
      Wall: (x: Figures) => x.medians?.wallS ?? x.wallS,
      Cpu: (x: Figures) => x.medians?.cpuS ?? x.cpuS,
      Peak: (x: Figures) => x.medians?.peakRssMB ?? x.peakRssMB,
    };
    for (const [name, of] of Object.entries(fig)) {
      const a = ok(v) ? of(v) : null;
      const b = ok(g) ? of(g) : null;
      out[`${who}Vertex${name}VsGemini`] = a !== null && b ? round(a / b) : null;
    }
  }
  return out;
}

function vertexVerdicts(runs: Run[]): Verdict[] {
  const out: Verdict[] = [];
  for (const run of runs) {
    const q = vertexRatios(run);
    for (const who of ['cli', 'lib'] as const) {
      for (const figure of ['Wall', 'Cpu', 'Peak']) {
        const key = `${who}Vertex${figure}VsGemini`;
        if (!(key in q)) continue;
        const ratio = q[key]!;
        out.push({
          goal: `${who} on Vertex: ${figure === 'Peak' ? 'peak RSS' : figure === 'Cpu' ? 'CPU' : 'wall'} <= ${VERTEX_MAX_RATIO}x the Developer API's at ${run.label}`,
          verdict: ratio === null ? 'not measured' : ratio <= VERTEX_MAX_RATIO ? 'met' : 'not met',
          figures: { ratio },
        });
      }
    }
  }
  return out;
}

function git(args: string[]): string {
  const r = spawnSync('git', args, { cwd: root, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : '';
}

// ---- main ----

if (!k.buildDir) compile();
if (k.trace === 2) mkdirSync(join(outDir, 'prof'), { recursive: true });
const load0 = loadavg();

const ratiosOf = (r: Run) => {
  const ok = (f: Figures | undefined): f is Figures => f !== undefined && !f.error && !f.skipped;
  const { floor, sdk } = r.results;
  const out: Record<string, number | null> = {};
  for (const who of ['cli', 'lib'] as const) {
    const f = r.results[who];
    if (!f) continue;
    const cpu = (x: Figures) => x.medians?.cpuS ?? x.cpuS;
    const wall = (x: Figures) => x.medians?.wallS ?? x.wallS;
    out[`${who}CpuVsFloor`] = ok(f) && ok(floor) && cpu(f) && cpu(floor) ? round(cpu(f)! / cpu(floor)!) : null;
    out[`${who}WallVsSdk`] = ok(f) && ok(sdk) ? round(wall(f) / wall(sdk)) : null;
  }
  Object.assign(out, vertexRatios(r));
  return out;
};

/** One node line: every run with every contender under `node`. */
const lines: { node: string; nodePath: string; runs: (Run & { ratios: Record<string, number | null> })[]; goals: Verdict[] }[] = [];
// After each run, what is done so far goes to bench/out/partial.json: a long run cut short still leaves its figures.
function savePartial(): void {
  writeFileSync(join(outDir, 'partial.json'), JSON.stringify({ lines, finishedRuns, date: new Date().toISOString() }, null, 1));
}
for (const nodePath of k.nodes) {
  node = nodePath;
  const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
  if (!version) throw new Error(`BENCH_NODES: ${node} does not run`);
  log(`==== node ${version} (${node})`);
  const runs: Run[] = [];
  const line = { node: version, nodePath, runs: [] as (Run & { ratios: Record<string, number | null> })[], goals: [] as Verdict[] };
  lines.push(line);
  for (const { label, bytes } of k.sizes) {
    runs.push(await textRun(label, bytes));
    line.runs = runs.map((r) => ({ ...r, ratios: ratiosOf(r) }));
    savePartial();
  }
  if (k.images > 0) {
    runs.push(await imageRun(k.images));
    line.runs = runs.map((r) => ({ ...r, ratios: ratiosOf(r) }));
    savePartial();
  }
  line.goals = [...verdicts(runs), ...vertexVerdicts(runs)];
  for (const v of line.goals) log(`goal (${version}): ${v.verdict.padEnd(12)} ${v.goal} ${JSON.stringify(v.figures)}`);
}

const result = {
  lineShape: {
    requests: `{"key":"r<i>","request":{"contents":[{"role":"user","parts":[{"text":...}]}]}} of ~${k.lineBytes} bytes, mixed non-ASCII text`,
    results: `{"response":{...},"key":"..."}: key last, field order inside response varying (${k.keyLast === 'proxy' ? 'rewritten by the bench proxy' : "the emulator's default"})`,
    vertexRows: `{"status":"","processed_time":...,"request":{snake_case echo, labels.gbs_seq},"response":{...}}: no top-level key, rows shuffled, every tenth also in an incremental_predictions file (the emulator's default, VERTEX.md's worst case)`,
  },
  lines,
  knobs: { ...k, sizes: k.sizes.map((s) => s.label) },
  machine: {
    benchNode: process.version,
    cpus: `${cpus().length} x ${cpus()[0]?.model ?? 'unknown'}`,
    loadAvgBefore: load0.map((x) => round(x)),
    loadAvgAfter: loadavg().map((x) => round(x)),
  },
  measured: k.ref === 'worktree' ? `worktree at ${git(['rev-parse', '--short', 'HEAD'])}${git(['status', '--porcelain', '--', 'src', 'bin']) ? ' + uncommitted changes in src/bin' : ''}` : tree.label,
  date: new Date().toISOString(),
};
const json = JSON.stringify(result, (_key, v: unknown) => (typeof v === 'number' && Number.isNaN(v) ? null : v), 2).replace(
  /\[\s*([-\d.,\s]*?)\s*\]/g,
  (_, xs: string) => `[${xs.split(/,\s*/).join(', ')}]`,
);
writeFileSync(join(outDir, 'last.json'), json + '\n');
process.stdout.write(json + '\n');
