/**
 * Caps V8's young generation for the CLI process.
 *
 * Why: the pipeline allocates a steady stream of short-lived strings and I/O
 * buffers. V8 answers by doubling each semi-space up to 16 MiB, so the young
 * generation alone commits 32 MiB, and dead Buffers (whose bytes live outside
 * the heap) wait that much longer for the scavenge that frees them. Measured
 * in bench/ (README "V8 flags"): semi-spaces of 4 MiB lower the CLI's peak RSS
 * by ~20 MB at no cost in CPU; smaller ones cost CPU and promote more.
 *
 * `--max-semi-space-size` is read only when the heap is set up, so a bin cannot
 * set it (short of `env -S` in the shebang, which BusyBox refuses, or a second
 * process). `--semi-space-growth-factor` is read at every growth decision: we
 * let the young generation grow as usual and, at the first GC that finds it at
 * the cap, set the factor to 1 so it grows no further.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

export const DEFAULT_SEMI_SPACE_MIB = 4;

/** Flags by which a user already chose the young generation's size: theirs win. */
const USER_CHOICE = /--(max-semi-space-size|min-semi-space-size|semi-space-growth-factor)\b/;

function youngGenerationBytes(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
}

/**
 * Stop the young generation growing past `semiSpaceMiB` per semi-space.
 * Returns false (and does nothing) when the user set a semi-space flag.
 */
export function capYoungGeneration(semiSpaceMiB: number = DEFAULT_SEMI_SPACE_MIB): boolean {
  const userFlags = `${process.execArgv.join(' ')} ${process.env['NODE_OPTIONS'] ?? ''}`;
  if (USER_CHOICE.test(userFlags)) return false;
  // new_space's size counts both semi-spaces.
  const capBytes = 2 * semiSpaceMiB * 1024 * 1024;
  const observer = new PerformanceObserver(() => {
    if (youngGenerationBytes() < capBytes) return;
    setFlagsFromString('--semi-space-growth-factor=1');
    observer.disconnect();
  });
  observer.observe({ entryTypes: ['gc'] });
  return true;
}
