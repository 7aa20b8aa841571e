/**
 * What a `--retry-failed` rerun of a finished run keeps in the run's state
 * dir, beside the finished journal (which it never changes):
 *
 * - `retry/`: the resend in progress. `seqs.u32` (the OUT line numbers
 *   resent, sorted, 4 bytes each), `plan.json` (which OUT they were picked
 *   from: a rerun goes on with the same plan only while OUT is still that
 *   one), and the journal of the library run that sends them (its own
 *   state dir: a kill -9 and a rerun pay nothing twice).
 * - `out-rewrites.json`: the digests of the OUTs resends published, so the
 *   completed run still recognises OUT as its own ("nothing to do", resume
 *   after a grown INPUT, the next resend).
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface WrittenOut {
  bytes: number;
  sha256: string;
  /** USD the resend that wrote it spent (at batch price), for a --max-cost over the whole run. */
  usd?: number;
}

export interface RetryPlan {
  /** The OUT the records were picked from (its plain lines). */
  base: { bytes: number; sha256: string };
  /** Records resent (entries in seqs.u32). */
  count: number;
}

const REWRITES_FILE = 'out-rewrites.json';
/** The last few are enough: OUT is one of them, or the run's own, or not ours. */
const KEEP_REWRITES = 8;

export function retryDirOf(stateDir: string): string {
  return join(stateDir, 'retry');
}

/** Written aside, fsynced and renamed: a crash leaves the old file or the new one. */
function writeDurably(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, data);
  const fd = openSync(tmp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

function readJson<T>(path: string): T | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export function readRewrites(stateDir: string): WrittenOut[] {
  const list = readJson<WrittenOut[]>(join(stateDir, REWRITES_FILE));
  return Array.isArray(list) ? list.filter((w) => typeof w?.bytes === 'number' && typeof w.sha256 === 'string') : [];
}

/** Record an OUT a resend is about to publish (before the rename: a crash after it still finds OUT accounted for). */
export function recordRewrite(stateDir: string, out: WrittenOut): void {
  const list = readRewrites(stateDir).filter((w) => w.sha256 !== out.sha256);
  list.push(out);
  writeDurably(join(stateDir, REWRITES_FILE), `${JSON.stringify(list.slice(-KEEP_REWRITES))}\n`);
}

/** USD spent by earlier resends of this run. */
export function rewritesSpent(stateDir: string): number {
  return readRewrites(stateDir).reduce((t, w) => t + (w.usd ?? 0), 0);
}

export function readPlan(retryDir: string): RetryPlan | undefined {
  const plan = readJson<RetryPlan>(join(retryDir, 'plan.json'));
  if (!plan || typeof plan.count !== 'number' || !existsSync(join(retryDir, 'seqs.u32'))) return undefined;
  return plan;
}

/** The line numbers first, then the plan that names them: a plan on disk always has its seqs. */
export function writePlan(retryDir: string, plan: RetryPlan, seqs: Uint32Array): void {
  writeDurably(join(retryDir, 'seqs.u32'), new Uint8Array(seqs.buffer, seqs.byteOffset, seqs.byteLength));
  writeDurably(join(retryDir, 'plan.json'), `${JSON.stringify(plan)}\n`);
}

/** The resent line numbers (little-endian uint32, sorted). */
export function readSeqs(retryDir: string): Uint32Array {
  const buf = readFileSync(join(retryDir, 'seqs.u32'));
  const seqs = new Uint32Array(buf.length >>> 2);
  for (let i = 0; i < seqs.length; i++) seqs[i] = buf.readUInt32LE(i * 4);
  return seqs;
}
