/**
 * End-to-end benchmark of the `gemini-batch` CLI against the emulator, on the
 * line shapes the real service produces (result lines key LAST, field order
 * inside `response` varying), next to two baselines measured in the same run:
 *
 * - floor: read, JSON.parse + JSON.stringify every request line and every
 *   result line (what any JSONL-in, JSONL-out program pays at least);
 * - sdk: the official @google/genai recipe (whole files in memory, join by key);
 * - cli: the real bin (bench/out/build/bin/gemini-batch.js, a copy of bin/ over
 *   the compiled src), `run INPUT -m ... -o OUT`.
 *
 * Each runs as its own process, under GNU time: wall, CPU user + sys and peak
 * RSS of the whole process. Each gets a fresh emulator process.
 *
 *   npm run bench                                   # 100MB,200MB,1GB + the image run
 *   BENCH_SIZES=100MB BENCH_IMAGES=0 npm run bench
 *   BENCH_SIZES=100MB,1GB,5GB npm run bench          # the 5 GB run is opt-in
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
import { readKnobs } from './lib/knobs.js';
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
const noFlagsBin = join(buildDir, 'bin', 'gemini-batch.noflags.js');

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
  writeFileSync(
    noFlagsBin,
    "// bin/gemini-batch.js without its V8 flags, to measure flag sets from scratch.\n" +
      "import { main } from '../dist/cli/main.js';\n" +
      'main(process.argv).then((code) => { process.exitCode = code; }, (err) => { console.error(String(err)); process.exitCode = 1; });\n',
  );
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
  /** What the child measured about itself (floor and sdk; the CLI with BENCH_CLI_TRACE=1). */
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
  rmSync(join(outDir, 'sdk.result.json'), { force: true });
  rmSync(join(outDir, 'cli.trace.json'), { force: true });
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
      for (const f of ['sdk.result.json', 'cli.trace.json']) if (existsSync(join(outDir, f))) fig.inner = JSON.parse(readFileSync(join(outDir, f), 'utf8'));
    } catch (e) {
      fig.error = (e as Error).message;
    }
  }
  rmSync(stateDir, { recursive: true, force: true });
  if (opts.keepOutput) {
    rmSync(opts.keepOutput, { force: true });
    if (existsSync(output)) copyFileSync(output, opts.keepOutput);
  }
  if (!k.keep) rmSync(output, { force: true });
  return fig;
}

/** Repeat a contender k.repeat times; the figures are the run with the median wall, all runs listed. */
async function measure(name: string, once: () => Promise<Figures>): Promise<Figures> {
  const runs: Figures[] = [];
  for (let i = 0; i < k.repeat; i++) {
    log(`${name}${k.repeat > 1 ? ` (${i + 1}/${k.repeat})` : ''}`);
    const f = await once();
    log(
      `${name}: ${f.error ? `FAILED ${f.error.slice(0, 300)} ` : ''}wall ${f.wallS}s cpu ${f.cpuS}s peak ${f.peakRssMB}MB at ${f.rssPeakAtS}s (p50 ${f.rssP50MB} p90 ${f.rssP90MB})` +
        (f.emulator ? ` (emulator cpu ${f.emulator.cpuS}s)` : ''),
    );
    runs.push(f);
  }
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
  ...extra,
});

/** The CLI: the bin run directly (its shebang and its own settings), or `node <flags> bin` for a flag set. */
function cliLaunch(input: Generated, cliArgs: string[], nodeFlags: string[] | undefined) {
  return (url: string, output: string) => {
    const args = ['run', input.path, '-m', 'gemini-2.5-flash', '-o', output, '--poll-interval', String(k.pollMs), k.cliEvents ? '--json' : '--quiet', ...cliArgs];
    const trace = k.cliTrace ? ['--import', pathToFileURL(join(buildDir, 'bench/lib/mem-trace.js')).href] : [];
    const flags = [...k.cliNodeFlags, ...trace, ...(nodeFlags ?? [])];
    const env = cliEnv(url, {
      ...(k.cliTrace ? { BENCH_TRACE_OUT: join(outDir, 'cli.trace.json') } : {}),
      ...(k.cliTrace === 2 ? { BENCH_TRACE_HEAP_OUT: join(outDir, 'prof', `cli-at-peak-${input.records}.heapprofile`) } : {}),
    });
    // A flag set is compared on the bin without its own V8 flags (bin/gemini-batch.noflags.js), so "no flags" means none.
    if (nodeFlags !== undefined) return { cmd: process.execPath, args: [...flags, noFlagsBin, ...args], env };
    // Flags go in NODE_OPTIONS so the bin still starts as a program: through sh, which sets
    // its glibc setting before it execs node (bin/gemini-batch.js).
    const nodeOptions = [env['NODE_OPTIONS'] ?? '', ...flags].filter((f) => f !== '').join(' ');
    return { cmd: bin, args, env: flags.length === 0 ? env : { ...env, NODE_OPTIONS: nodeOptions } };
  };
}

function nodeChildLaunch(script: string, args: (url: string, output: string) => string[]) {
  return (url: string, output: string) => ({ cmd: process.execPath, args: [join(buildDir, 'bench', script), ...args(url, output)] });
}

/** The floor reads two files: the requests and a results file (the CLI's, else the SDK recipe's). */
async function floorRun(input: Generated, resultsFile: string | undefined): Promise<Figures> {
  const resultPath = join(outDir, 'floor.result.json');
  const files = resultsFile ? [input.path, resultsFile] : [input.path];
  const t = await runTimed(process.execPath, [join(buildDir, 'bench/floor.child.js'), resultPath, outDir, ...files], { cwd: root, scratch: outDir });
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
          keepOutput: k.contenders.includes('cli') ? undefined : resultsCopy,
        }),
      );
      haveResults ||= !results.sdk.error && !k.contenders.includes('cli');
    }
  }
  if (k.contenders.includes('cli')) {
    const sets = k.flagSets ?? [undefined];
    for (const set of sets) {
      const name = set === undefined ? 'cli' : `cli ${set.length ? set.join(' ') : '(no flags)'}`;
      results[name] = await measure(`${label} ${name}`, () =>
        runOnce(`cli-${label}`, input, cliLaunch(input, k.cliArgs, set), { verify: true, keepOutput: haveResults ? undefined : resultsCopy }),
      );
      haveResults ||= !results[name]!.error;
    }
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
  if (k.contenders.includes('cli')) {
    results.cli = await measure('images cli (default flags)', () => runOnce('cli-images', input, cliLaunch(input, [], undefined), { verify: true }));
    results['cli --mode file'] = await measure('images cli --mode file', () =>
      runOnce('cli-images-file', input, cliLaunch(input, ['--mode', 'file'], undefined), { verify: true }),
    );
  }
  rmSync(input.path, { force: true });
  return { label: `images-${count}`, bytes: input.bytes, records: input.records, results };
}

// ---- goals (issue 12) ----

type Run = Awaited<ReturnType<typeof textRun>>;
interface Verdict {
  goal: string;
  verdict: 'met' | 'not met' | 'not measured';
  figures: Record<string, number | string | null>;
}

function verdicts(runs: Run[]): Verdict[] {
  const byLabel = new Map(runs.map((r) => [r.label.toUpperCase(), r]));
  const ok = (f: Figures | undefined): f is Figures => f !== undefined && !f.error && !f.skipped;
  const out: Verdict[] = [];
  const rss = (label: string, limit: number) => {
    const cli = byLabel.get(label)?.results.cli;
    out.push({
      goal: `CLI peak RSS <= ${limit} MB at ${label}`,
      verdict: !ok(cli) ? 'not measured' : cli.peakRssMB <= limit ? 'met' : 'not met',
      figures: { cliPeakRssMB: cli?.peakRssMB ?? null, limitMB: limit, ...(cli?.error ? { error: cli.error } : {}) },
    });
  };
  rss('100MB', 130);
  rss('1GB', 130);
  rss('5GB', 130);
  {
    const a = byLabel.get('100MB')?.results.cli;
    const b = byLabel.get('5GB')?.results.cli;
    out.push({
      goal: 'flat: CLI peak RSS at 5GB within 10 MB of 100MB',
      verdict: !ok(a) || !ok(b) ? 'not measured' : b.peakRssMB - a.peakRssMB <= 10 ? 'met' : 'not met',
      figures: { at100MB: a?.peakRssMB ?? null, at5GB: b?.peakRssMB ?? null, diffMB: ok(a) && ok(b) ? round(b.peakRssMB - a.peakRssMB, 1) : null },
    });
  }
  for (const [label, name] of [...byLabel.entries()].filter(([l]) => l.startsWith('IMAGES')).flatMap(([l, r]) => Object.keys(r.results).map((n) => [l, n] as const))) {
    const f: Figures | undefined = byLabel.get(label)!.results[name];
    const failedRun = f?.error !== undefined;
    out.push({
      goal:
        name === 'cli'
          ? `CLI peak RSS <= 180 MB on ${label.toLowerCase()} (~1 MB image per answer), default flags`
          : `${name.replace(/^cli/, 'CLI')} peak RSS on ${label.toLowerCase()}, against the same 180 MB`,
      verdict: failedRun ? 'not met' : !ok(f) ? 'not measured' : f.peakRssMB <= 180 ? 'met' : 'not met',
      figures: { peakRssMB: f?.peakRssMB ?? null, wallS: f?.wallS ?? null, ...(f?.error ? { error: f.error.slice(0, 300) } : {}) },
    });
  }
  for (const label of ['200MB', '1GB']) {
    const r = byLabel.get(label)?.results;
    const cli = r?.cli;
    const floor = r?.floor;
    const ratio = ok(cli) && ok(floor) && cli.cpuS !== null && floor.cpuS ? round(cli.cpuS / floor.cpuS) : null;
    out.push({
      goal: `CLI CPU <= 0.8x the floor at ${label} (stretch 0.6x)`,
      verdict: ratio === null ? 'not measured' : ratio <= 0.8 ? 'met' : 'not met',
      figures: { cliCpuS: cli?.cpuS ?? null, floorCpuS: floor?.cpuS ?? null, ratio },
    });
  }
  for (const run of runs.filter((r) => !r.label.startsWith('images'))) {
    const cli = run.results.cli;
    const sdk = run.results.sdk;
    const ratio = ok(cli) && ok(sdk) ? round(cli.wallS / sdk.wallS) : null;
    const strict = ['100MB', '200MB'].includes(run.label.toUpperCase());
    out.push({
      goal: strict ? `CLI wall <= 0.8x the SDK recipe at ${run.label}` : `CLI wall below the SDK recipe at ${run.label} (where it runs)`,
      verdict: ratio === null ? 'not measured' : ratio <= (strict ? 0.8 : 1) ? 'met' : 'not met',
      figures: { cliWallS: cli?.wallS ?? null, sdkWallS: ok(sdk) ? sdk.wallS : null, ratio, ...(sdk?.skipped ? { sdk: 'cannot run at this size' } : {}) },
    });
  }
  return out;
}

function git(args: string[]): string {
  const r = spawnSync('git', args, { cwd: root, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : '';
}

// ---- main ----

if (!k.buildDir) compile();
if (k.cliTrace === 2) mkdirSync(join(outDir, 'prof'), { recursive: true });
const load0 = loadavg();
const runs: Run[] = [];
// After each run, what is done so far goes to bench/out/partial.json: a long run cut short still leaves its figures.
const savePartial = () => writeFileSync(join(outDir, 'partial.json'), JSON.stringify({ runs, date: new Date().toISOString() }, null, 1));
for (const { label, bytes } of k.sizes) {
  runs.push(await textRun(label, bytes));
  savePartial();
}
if (k.images > 0) {
  runs.push(await imageRun(k.images));
  savePartial();
}

const ratiosOf = (r: Run) => {
  const { cli, floor, sdk } = r.results;
  const ok = (f: Figures | undefined) => f && !f.error && !f.skipped;
  return {
    cliCpuVsFloor: ok(cli) && ok(floor) && cli!.cpuS && floor!.cpuS ? round(cli!.cpuS / floor!.cpuS) : null,
    cliWallVsFloor: ok(cli) && ok(floor) ? round(cli!.wallS / floor!.wallS) : null,
    cliWallVsSdk: ok(cli) && ok(sdk) ? round(cli!.wallS / sdk!.wallS) : null,
    cliRssVsSdk: ok(cli) && ok(sdk) ? round(cli!.peakRssMB / sdk!.peakRssMB) : null,
  };
};

const result = {
  lineShape: {
    requests: `{"key":"r<i>","request":{"contents":[{"role":"user","parts":[{"text":...}]}]}} of ~${k.lineBytes} bytes, mixed non-ASCII text`,
    results: `{"response":{...},"key":"..."}: key last, field order inside response varying (${k.keyLast === 'proxy' ? 'rewritten by the bench proxy' : "the emulator's default"})`,
  },
  runs: runs.map((r) => ({ ...r, ratios: ratiosOf(r) })),
  goals: verdicts(runs),
  knobs: { ...k, sizes: k.sizes.map((s) => s.label) },
  machine: {
    node: process.version,
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
for (const v of result.goals) log(`goal: ${v.verdict.padEnd(12)} ${v.goal} ${JSON.stringify(v.figures)}`);
