/** Benchmark knobs from the environment, parsed once with a clear message on a bad value. */

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

/** "100MB", "1GB", "1.5gb", "64MiB", "1000000" → bytes. */
export function parseBytes(v: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(v);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new Error(`expected a size like 100MB, 1GB or 1000000, got "${v}"`);
  const n = Math.round(Number(m[1]) * unit);
  if (!(n > 0)) throw new Error(`expected a positive size, got "${v}"`);
  return n;
}

function envInt(name: string, dflt: number, min = 1): number {
  const v = process.env[name];
  if (v === undefined || v.trim() === '') return dflt;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`${name}: expected an integer >= ${min}, got "${v}"`);
  return n;
}

export const CONTENDERS = ['floor', 'sdk', 'cli', 'lib'] as const;
export type Contender = (typeof CONTENDERS)[number];

/** The batch services the product's runs (cli, lib) go through: the Developer API and Vertex AI (both in the emulator). */
export const BACKENDS = ['gemini', 'vertex'] as const;
export type Backend = (typeof BACKENDS)[number];

export interface Knobs {
  /** Text runs, input bytes each (BENCH_SIZES, comma-separated; BENCH_BYTES is the one-size shorthand). */
  sizes: { label: string; bytes: number }[];
  /** Image run: this many requests, each answered with a ~1 MB base64 image (0: no image run). */
  images: number;
  contenders: Contender[];
  /**
   * Which backends cli and lib run on (BENCH_BACKENDS, default both): `gemini` (the Developer API)
   * and `vertex` (Vertex AI batch jobs + Cloud Storage, same emulator process). With both, each
   * repeat runs the two back to back and the Vertex figures get ratios against the Developer API's.
   */
  backends: Backend[];
  lineBytes: number;
  pendingMs: number;
  runningMs: number;
  /** --poll-interval for the CLI and the SDK recipe's sleep between polls. */
  pollMs: number;
  /** Extra CLI flags for every text run (e.g. "--max-requests 100000"). */
  cliArgs: string[];
  /**
   * The node binaries every contender runs under (BENCH_NODES, comma-separated paths; "current" or
   * empty: the node running the bench). The whole set runs once per binary, labelled with its version.
   */
  nodes: string[];
  /**
   * Diagnostic node flags for the product's runs (cli and lib), e.g. "--cpu-prof --cpu-prof-dir=bench/out/prof"
   * or "--heap-prof": measurement only, never a setting of the product (BENCH_NODE_FLAGS; BENCH_CLI_NODE_FLAGS is its old name).
   */
  nodeFlags: string[];
  /** A NODE_OPTIONS value for the product's runs: to measure a setting a user may choose (BENCH_NODE_OPTIONS). */
  nodeOptions: string;
  /** Preload bench/lib/mem-trace into cli and lib: where their peak RSS goes (1: heap spaces, external, arrayBuffers; 2: also a heap profile at the peak). */
  trace: 0 | 1 | 2;
  /** Run the CLI with --json instead of --quiet and report each chunk's phases (uploaded, created, succeeded, results out) in seconds. */
  cliEvents: boolean;
  /** Run each contender this many times (figures: the median by wall; all runs kept). */
  repeat: number;
  /** 'emulator': result lines as the emulator writes them (key last since bba2090); 'proxy': rewritten to key-last on the way out (older trees). */
  keyLast: 'emulator' | 'proxy';
  /** Above this input size the floor is not run (it is the longest part of a 5 GB run and no goal reads it there). */
  floorMaxBytes: number;
  /** Run the SDK recipe even above the size where it cannot work (to show the failure). */
  sdkForce: boolean;
  keep: boolean;
  /** The git ref whose src/ and bin/ are measured (default HEAD), or 'worktree' for the working tree as it is. */
  ref: string;
  /** Run the children from another compiled tree (A/B of a patched copy of bench/out/build). */
  buildDir: string | undefined;
}

function list(v: string | undefined, dflt: string): string[] {
  return (v ?? dflt).split(',').map((s) => s.trim()).filter(Boolean);
}

export function readKnobs(): Knobs {
  const sizeList = process.env.BENCH_SIZES !== undefined ? list(process.env.BENCH_SIZES, '') : list(process.env.BENCH_BYTES, '100MB,200MB,1GB');
  const contenders = list(process.env.BENCH_CONTENDERS, CONTENDERS.join(','));
  for (const c of contenders) {
    if (!(CONTENDERS as readonly string[]).includes(c)) throw new Error(`BENCH_CONTENDERS: expected some of ${CONTENDERS.join(', ')}, got "${c}"`);
  }
  const backends = list(process.env.BENCH_BACKENDS, BACKENDS.join(','));
  for (const b of backends) {
    if (!(BACKENDS as readonly string[]).includes(b)) throw new Error(`BENCH_BACKENDS: expected some of ${BACKENDS.join(', ')}, got "${b}"`);
  }
  if (backends.length === 0) throw new Error(`BENCH_BACKENDS: expected some of ${BACKENDS.join(', ')}`);
  const keyLast = process.env.BENCH_KEY_LAST ?? 'emulator';
  if (keyLast !== 'proxy' && keyLast !== 'emulator') throw new Error(`BENCH_KEY_LAST: expected emulator or proxy, got "${keyLast}"`);
  if (process.env.BENCH_FLAG_SETS) throw new Error('BENCH_FLAG_SETS is gone with the V8 tuning it compared: use BENCH_NODE_OPTIONS for a start-up setting');
  const trace = process.env.BENCH_TRACE ?? process.env.BENCH_CLI_TRACE;
  return {
    sizes: sizeList.map((label) => ({ label, bytes: parseBytes(label) })),
    images: envInt('BENCH_IMAGES', 2000, 0),
    contenders: contenders as Contender[],
    backends: backends as Backend[],
    lineBytes: envInt('BENCH_LINE_BYTES', 600),
    pendingMs: envInt('BENCH_PENDING_MS', 10),
    runningMs: envInt('BENCH_RUNNING_MS', 10),
    pollMs: envInt('BENCH_POLL_MS', 100),
    cliArgs: (process.env.BENCH_CLI_ARGS ?? '').split(/\s+/).filter(Boolean),
    nodes: list(process.env.BENCH_NODES ?? process.env.BENCH_NODE, 'current').map((n) => (n === 'current' ? process.execPath : n)),
    nodeFlags: (process.env.BENCH_NODE_FLAGS ?? process.env.BENCH_CLI_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean),
    nodeOptions: process.env.BENCH_NODE_OPTIONS ?? '',
    repeat: envInt('BENCH_REPEAT', 1),
    cliEvents: process.env.BENCH_CLI_EVENTS === '1',
    trace: trace === '2' ? 2 : trace === '1' ? 1 : 0,
    keyLast,
    sdkForce: process.env.BENCH_SDK_FORCE === '1',
    floorMaxBytes: process.env.BENCH_FLOOR_MAX ? parseBytes(process.env.BENCH_FLOOR_MAX) : Infinity,
    keep: process.env.BENCH_KEEP === '1',
    buildDir: process.env.BENCH_BUILD_DIR || undefined,
    ref: process.env.BENCH_REF || 'HEAD',
  };
}
