/**
 * Crash points for the crash tests: GEMINI_BATCH_CRASH_AT=<point>[:<n>] makes
 * the process SIGKILL itself the n-th time (default 1st) it reaches <point>,
 * a real kill -9 at an exact moment (after a create was sent and before its
 * answer was recorded, say) that a timer outside could only hit by luck.
 * Unset, it costs one property read.
 */
export type CrashPoint = 'upload-piece' | 'create-sent' | 'polling' | 'results-downloaded' | 'output-written';

const spec = process.env.GEMINI_BATCH_CRASH_AT;
const [point, nth] = spec ? spec.split(':') : [];
let hits = 0;

export function crashPoint(name: CrashPoint): void {
  if (point !== name) return;
  hits++;
  if (hits === Number(nth ?? 1)) process.kill(process.pid, 'SIGKILL');
}
