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

function envInt(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v.trim() === '') return dflt;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${name}: expected a positive integer, got "${v}"`);
  return n;
}

export interface Knobs {
  bytes: number;
  lineBytes: number;
  maxRequests: number;
  pendingMs: number;
  runningMs: number;
  pollMs: number;
  keep: boolean;
  /** 'build': children run as tsc-compiled JS (what users run from dist); 'tsx': straight from TypeScript. */
  runtime: 'build' | 'tsx';
  clientNodeFlags: string[];
  /** Run the children from this compiled tree instead of compiling src (A/B of a patched copy). */
  buildDir: string | undefined;
}

export function readKnobs(): Knobs {
  return {
    bytes: parseBytes(process.env.BENCH_BYTES ?? '1000000000'),
    lineBytes: envInt('BENCH_LINE_BYTES', 600),
    maxRequests: envInt('BENCH_MAX_REQUESTS', 100_000),
    pendingMs: envInt('BENCH_PENDING_MS', 10),
    runningMs: envInt('BENCH_RUNNING_MS', 10),
    pollMs: envInt('BENCH_POLL_MS', 50),
    keep: process.env.BENCH_KEEP === '1',
    runtime: parseRuntime(process.env.BENCH_RUNTIME),
    clientNodeFlags: (process.env.BENCH_CLIENT_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean),
    buildDir: process.env.BENCH_BUILD_DIR || undefined,
  };
}

function parseRuntime(v: string | undefined): 'build' | 'tsx' {
  if (v === undefined || v === '' || v === 'build') return 'build';
  if (v === 'tsx') return 'tsx';
  throw new Error(`BENCH_RUNTIME: expected build or tsx, got "${v}"`);
}
