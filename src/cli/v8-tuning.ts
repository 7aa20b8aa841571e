/**
 * V8 settings for the CLI process: a small young generation, an old
 * generation collected at twice its live size, WebAssembly left to its
 * baseline compiler, and a young GC every 8 MiB of bytes moved (a full one
 * every 64 MiB).
 *
 * Why: the pipeline's live heap is small (~10-12 MB at 1 GB of input, measured
 * with a forced GC every 2 s), but it allocates a steady stream of short-lived
 * strings and I/O buffers. Left alone, V8 doubles each semi-space up to 16 MiB
 * (32 MiB committed), dead Buffers (whose bytes live outside the heap) wait
 * that much longer for the scavenge that frees them, and what survives two
 * scavenges piles up in old space as garbage until a limit sized for a much
 * larger heap. Measured in bench/ (README "V8 flags"): 4 MiB semi-spaces lower
 * the CLI's peak RSS by ~20 MB at no cost in CPU (smaller ones cost CPU); an
 * old-generation growing factor of 2 (`--heap-growing-percent=100`) lowers it
 * by another 8-16 MB for 0-8% more CPU.
 *
 * undici parses HTTP with llhttp compiled to WebAssembly. V8 compiles it with
 * Liftoff, then recompiles the hot functions with TurboFan in the background
 * about 150 ms into the first upload: a transient (9-17 MB) that set the run's
 * peak. The parser's work here is headers and skipping bodies, so TurboFan
 * buys nothing measurable: `--liftoff-only` lowered the peak by 9-17 MB at
 * 100-200 MB of input, same CPU and wall (bench/README, "V8 flags").
 *
 * `--max-semi-space-size` is read only when the heap is set up, so a bin cannot
 * set it (short of `env -S` in the shebang, which BusyBox refuses, or a second
 * process). `--semi-space-growth-factor` and `--heap-growing-percent` are read
 * at each decision: we let the young generation grow as usual and, at the
 * first GC that finds it at the cap, set its growth factor to 1.
 * `--liftoff-only` is read when a module is compiled: undici (and its wasm)
 * loads at the first request, long after the bin has set it.
 *
 * Dead I/O buffers (collectIoBuffers below): a young GC every 8 MiB of HTTP
 * body took the peak from 103 to 92 MB at 100 MB of input, 115 to 99-101 MB
 * at 1 GB and 127-132 to 106-111 MB at 5 GB, CPU within noise (16 MiB: 100 MB
 * at 1 GB; 32 and 64 MiB: no gain). Counting INPUT and OUT bytes too and
 * making every 8th GC a full one (with the bin's glibc setting and 64 KiB OUT
 * queues): 90.2-90.5 MB at 5 GB against 95.3 without the full GCs (p50 83-84
 * against 88), for 5-8% more CPU there (bench/README, "V8 flags, glibc and
 * start-up", settings 6-8).
 */
import { subscribe } from 'node:diagnostics_channel';
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { IO_BYTES_CHANNEL } from './io-bytes.js';

export const DEFAULT_SEMI_SPACE_MIB = 4;
export const DEFAULT_HEAP_GROWING_PERCENT = 100;
/** Bytes moved (HTTP bodies sent or received, INPUT read, OUT written) between two GCs asked for by the CLI. */
export const DEFAULT_COLLECT_EVERY_BYTES = 8 << 20;
/** Of those bytes, how many between two full GCs (every 8th GC asked for). */
export const DEFAULT_FULL_COLLECT_EVERY_BYTES = 64 << 20;

/** Flags by which a user already sized the young generation: theirs win. */
const USER_YOUNG = /--(max-semi-space-size|min-semi-space-size|semi-space-growth-factor)\b/;
const USER_OLD = /--heap-growing-percent\b/;
const USER_WASM = /--(no-)?(liftoff|liftoff-only|wasm-tier-up|wasm-dynamic-tiering)\b/;
const USER_GC = /--expose[-_]gc\b/;

export interface V8Tuning {
  /** The young generation stops growing at this many MiB per semi-space (false: the user chose). */
  semiSpaceMiB: number | false;
  /** The old generation's growing percent (false: the user chose). */
  heapGrowingPercent: number | false;
  /** WebAssembly compiled by Liftoff alone (false: the user chose a wasm tiering flag). */
  liftoffOnly: boolean;
  /** A young GC every this many bytes moved (false: the user set --expose-gc, gc is theirs). */
  collectEveryBytes: number | false;
  /** ... and a full one instead every this many (false with collectEveryBytes). */
  fullCollectEveryBytes: number | false;
}

/**
 * The V8 these settings were measured on (Node 20's 11.3). A flag a later V8
 * renames would be refused with an "unrecognized flag" line on stderr at every
 * run, so on another V8 the bin leaves V8 as it is until it is measured there.
 */
const MEASURED_ON_V8 = /^11\.3\./;

const UNTUNED: V8Tuning = { semiSpaceMiB: false, heapGrowingPercent: false, liftoffOnly: false, collectEveryBytes: false, fullCollectEveryBytes: false };

/** gc() is a full GC, gc({ type: 'minor' }) a young one. */
type GcFunction = (options?: { type: 'minor' }) => void;
interface BodyChunkMessage {
  chunk?: { length: number };
}

function youngGenerationBytes(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
}

function capYoungGeneration(semiSpaceMiB: number): void {
  // new_space's size counts both semi-spaces.
  const capBytes = 2 * semiSpaceMiB * 1024 * 1024;
  const observer = new PerformanceObserver(() => {
    if (youngGenerationBytes() < capBytes) return;
    setFlagsFromString('--semi-space-growth-factor=1');
    observer.disconnect();
  });
  observer.observe({ entryTypes: ['gc'] });
}

/**
 * Socket and file reads are 64 KiB Buffers whose bytes live outside the JS
 * heap. An upload or a download over a fast link turns hundreds of them into
 * garbage per young GC, because the JS that moves them allocates little:
 * 30-40 MB of dead buffers at once, and glibc's heap, grown for them, is not
 * given back. undici reports every body chunk on diagnostics_channel, the CLI
 * every INPUT read and OUT line (io-bytes.ts); every `youngEvery` bytes of
 * them it asks for a young GC (~1 ms with this small live heap).
 *
 * A buffer still queued at two young GCs in a row (an upload piece waiting for
 * the socket, a line waiting for OUT) is promoted, and dead in old space it
 * waits for a full GC: 6-10 MB of them sat there between V8's own full GCs
 * (bench/README, "V8 flags, glibc and start-up", setting 6). Every
 * `fullEvery` bytes the GC asked for is a full one instead (1-5 ms here).
 *
 * gc comes from `--expose-gc`, set at run time, in a context of its own, so
 * the CLI's globals do not change.
 */
function collectIoBuffers(youngEvery: number, fullEvery: number): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as GcFunction;
  let sinceYoung = 0;
  let sinceFull = 0;
  const count = (bytes: number): void => {
    sinceYoung += bytes;
    if (sinceYoung < youngEvery) return;
    sinceFull += sinceYoung;
    sinceYoung = 0;
    const full = sinceFull >= fullEvery;
    if (full) sinceFull = 0;
    // gc() with no options is the full GC: V8 11.3 runs a young one for { type: 'major' }.
    if (full) gc();
    else gc({ type: 'minor' });
  };
  const countBody = (message: unknown): void => count((message as BodyChunkMessage).chunk?.length ?? 0);
  subscribe('undici:request:bodyChunkSent', countBody);
  subscribe('undici:request:bodyChunkReceived', countBody);
  subscribe(IO_BYTES_CHANNEL, (bytes) => count(bytes as number));
}

export interface V8TuningOptions {
  semiSpaceMiB?: number;
  heapGrowingPercent?: number;
  collectEveryBytes?: number;
  fullCollectEveryBytes?: number;
  /** The running V8's version (tests pass another). */
  v8Version?: string;
}

/** Apply the settings, each unless the user set a flag of its kind (in execArgv or NODE_OPTIONS). */
export function tuneV8(o: V8TuningOptions = {}): V8Tuning {
  if (!MEASURED_ON_V8.test(o.v8Version ?? process.versions.v8)) return UNTUNED;
  const userFlags = `${process.execArgv.join(' ')} ${process.env['NODE_OPTIONS'] ?? ''}`;
  const young = USER_YOUNG.test(userFlags) ? false : (o.semiSpaceMiB ?? DEFAULT_SEMI_SPACE_MIB);
  const old = USER_OLD.test(userFlags) ? false : (o.heapGrowingPercent ?? DEFAULT_HEAP_GROWING_PERCENT);
  const liftoffOnly = !USER_WASM.test(userFlags);
  const userGc = USER_GC.test(userFlags);
  const collect = userGc ? false : (o.collectEveryBytes ?? DEFAULT_COLLECT_EVERY_BYTES);
  const fullCollect = userGc ? false : (o.fullCollectEveryBytes ?? DEFAULT_FULL_COLLECT_EVERY_BYTES);
  if (young !== false) capYoungGeneration(young);
  if (old !== false) setFlagsFromString(`--heap-growing-percent=${old}`);
  if (liftoffOnly) setFlagsFromString('--liftoff-only');
  if (collect !== false && fullCollect !== false) collectIoBuffers(collect, fullCollect);
  return { semiSpaceMiB: young, heapGrowingPercent: old, liftoffOnly, collectEveryBytes: collect, fullCollectEveryBytes: fullCollect };
}
