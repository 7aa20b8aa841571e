/**
 * What the CLI knows about the run recorded in a state dir, decided under
 * the state dir's lock before anything is written: resume it, start a new
 * one, refuse (its flags changed), or nothing to do (it completed, INPUT and
 * flags are the same and OUT is still exactly what it wrote).
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readJournal, spentAnything, type JournalState } from '../journal/journal.js';
import { digestOut, type OutDigest } from './out-file.js';
import { readRewrites } from './retry-state.js';

/** The flags a run is recorded with, under the names the user typed. */
export type RunSettings = Record<string, unknown>;

export const SETTINGS_FILE = 'cli-settings.json';

/** Flags that change what each request is: a resume under other values would mix two kinds of answers. */
const REQUEST_FLAGS = ['--prompt-field', '--key-field', '--system', '--generation-config', '--task', '--model'];

export function runSettings(f: {
  model: string;
  task: string;
  mode: string;
  maxFileBytes?: number;
  maxRequests?: number;
  promptField?: string;
  keyField?: string;
  system?: string;
  generationConfig?: Record<string, unknown>;
  onInvalid: string;
  retryFailed?: number;
}): RunSettings {
  const s: RunSettings = {
    '--model': f.model,
    '--task': f.task,
    '--mode': f.mode,
    '--max-file-bytes': f.maxFileBytes,
    '--max-requests': f.maxRequests,
    '--prompt-field': f.promptField,
    '--key-field': f.keyField,
    '--system': f.system,
    '--generation-config': f.generationConfig,
    '--on-invalid': f.onInvalid,
    '--retry-failed': f.retryFailed,
  };
  // undefined and absent are the same flag not given; JSON drops them alike.
  return JSON.parse(JSON.stringify(s)) as RunSettings;
}

/**
 * What a rerun of a completed run may change: --retry-failed only decides
 * what happens to retryable error lines (a resend of just those records, see
 * retry-finished.ts), never what the other records' answers are.
 */
const FREE_AFTER_COMPLETION = new Set(['--retry-failed']);

/** Flags whose value differs, as `--system (was "a", now not given)`, request-building ones first. */
export function changedFlags(was: RunSettings, now: RunSettings, ignore: ReadonlySet<string> = new Set()): string[] {
  const show = (v: unknown) => (v === undefined ? 'not given' : JSON.stringify(v));
  return Object.keys({ ...was, ...now })
    .filter((k) => !ignore.has(k) && JSON.stringify(was[k]) !== JSON.stringify(now[k]))
    .sort((a, b) => Number(!REQUEST_FLAGS.includes(a)) - Number(!REQUEST_FLAGS.includes(b)))
    .map((k) => `${k} (was ${show(was[k])}, now ${show(now[k])})`);
}

export function readSettings(stateDir: string): RunSettings | undefined {
  const p = join(stateDir, SETTINGS_FILE);
  if (!existsSync(p)) return undefined;
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as RunSettings;
  } catch {
    return undefined;
  }
}

/** Written aside and renamed: a crash leaves the old file or the new one, never half of one. */
export function writeSettings(stateDir: string, s: RunSettings): void {
  const p = join(stateDir, SETTINGS_FILE);
  writeFileSync(`${p}.tmp`, `${JSON.stringify(s)}\n`);
  renameSync(`${p}.tmp`, p);
}

/** Which INPUT a completed run read: a regular file, by path, size and modification time. */
export interface InputIdentity {
  path: string;
  size: number;
  mtimeMs: number;
  /** sha256 (hex) of its first `size` bytes, recorded at completion: a grown INPUT still starts with them. */
  sha256?: string;
}

/** sha256 (hex) of the first `bytes` bytes of a file; undefined when it is shorter. */
export function prefixSha256(path: string, bytes: number): string | undefined {
  const hash = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    let at = 0;
    while (at < bytes) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, bytes - at), at);
      if (n <= 0) return undefined;
      hash.update(buf.subarray(0, n));
      at += n;
    }
    return hash.digest('hex');
  } finally {
    closeSync(fd);
  }
}

export function inputIdentity(inputPath: string): InputIdentity | undefined {
  if (inputPath === '-') return undefined;
  try {
    const st = statSync(inputPath);
    return st.isFile() ? { path: resolve(inputPath), size: st.size, mtimeMs: st.mtimeMs } : undefined;
  } catch {
    return undefined;
  }
}

/** What the CLI records in the journal when its run completes. */
export interface CliCompletion {
  output: { bytes: number; sha256: string };
  settings: RunSettings;
  input?: InputIdentity;
  records: number;
}

export type Verdict =
  | { kind: 'new' }
  | { kind: 'resume'; journal: JournalState }
  /** Start afresh; the old journal is archived first. `why` for a notice. */
  | { kind: 'restart'; why: string }
  | { kind: 'done'; runId: string; records: number }
  /** INPUT starts with exactly what the completed run read and has more: send only what is new, append to OUT. */
  | { kind: 'grow'; journal: JournalState; runId: string; records: number }
  /** Completed, same INPUT and flags, --retry-failed given: resend only OUT's retryable error lines (`out`: OUT as it is now). */
  | { kind: 'retry'; journal: JournalState; runId: string; records: number; out: OutDigest }
  /** Refuse: `why` is the sentence to show (a usage error). */
  | { kind: 'refuse'; why: string };

/**
 * Decide what to do with the state dir of this run. Reads OUT once (to
 * verify a completed run's checksum; through gunzip for a .gz OUT) only when
 * everything else matches. `retryFailed`: the --retry-failed of this rerun.
 */
export async function judgeState(a: { stateDir: string; inputPath: string; output: string; settings: RunSettings; fresh: boolean; retryFailed?: number }): Promise<Verdict> {
  const j = readJournal(a.stateDir);
  if (!j || j.runId === undefined) return { kind: 'new' };
  if (a.fresh) return { kind: 'restart', why: '--fresh' };
  const recorded = readSettings(a.stateDir);
  if (j.completed) {
    const done = j.completion?.cli as CliCompletion | undefined;
    const input = inputIdentity(a.inputPath);
    if (!done || !recorded) return { kind: 'restart', why: `the run ${j.runId} in ${a.stateDir} had completed` };
    const changed = changedFlags(done.settings, a.settings, FREE_AFTER_COMPLETION);
    if (changed.length) return { kind: 'restart', why: `run ${j.runId} completed with other flags: ${changed.join(', ')}` };
    if (!input || !done.input) {
      return {
        kind: 'refuse',
        why: `run ${j.runId} in ${a.stateDir} already completed ${a.output} from ${a.inputPath === '-' ? 'stdin, which cannot be compared with what it read' : 'an INPUT that cannot be compared'}; add --fresh to run it (and pay) again`,
      };
    }
    const same = input.path === done.input.path && input.size === done.input.size && input.mtimeMs === done.input.mtimeMs;
    let grew = false;
    if (!same) {
      // Completions before the prefix hash can only tell "changed": such a run starts afresh as before.
      if (done.input.sha256 === undefined) return { kind: 'restart', why: `INPUT changed since run ${j.runId} completed` };
      const kept = input.size >= done.input.size && prefixSha256(a.inputPath, done.input.size) === done.input.sha256;
      if (!kept) {
        return {
          kind: 'refuse',
          why: `INPUT changed within the ${done.input.size} bytes whose ${done.records} records run ${j.runId} already answered in ${a.output} (only lines appended after them are sent on their own); add --fresh to run all of INPUT again (and pay for every record again)`,
        };
      }
      grew = input.size > done.input.size;
    }
    // Done or grown, OUT must still be exactly what the run wrote: the new results are appended to it.
    if (a.output === '-' || (existsSync(a.output) && !statSync(a.output).isFile())) {
      return { kind: 'refuse', why: `run ${j.runId} in ${a.stateDir} already completed this INPUT with these flags, and its results went to ${a.output === '-' ? 'stdout' : a.output}, which cannot be checked; add --fresh to run it (and pay) again` };
    }
    const out = existsSync(a.output) ? await digestOut(a.output) : undefined;
    // OUT as the run wrote it, or as a --retry-failed rerun rewrote it since.
    const written = [done.output, ...readRewrites(a.stateDir)];
    const intact = out && out.size === out.bytes && written.some((w) => w.bytes === out.bytes && w.sha256 === out.sha256);
    if (!intact) {
      return {
        kind: 'refuse',
        why: `run ${j.runId} completed ${a.output} from this INPUT with these flags, but ${a.output} was ${out ? 'changed' : 'removed'} since; add --fresh to run it (and pay) again`,
      };
    }
    if (grew) return { kind: 'grow', journal: j, runId: j.runId, records: done.records };
    if ((a.retryFailed ?? 0) > 0) return { kind: 'retry', journal: j, runId: j.runId, records: done.records, out };
    return { kind: 'done', runId: j.runId, records: done.records };
  }
  if (recorded) {
    const changed = changedFlags(recorded, a.settings);
    if (changed.length) {
      if (!spentAnything(j)) return { kind: 'restart', why: 'the earlier run had not sent anything yet' };
      return {
        kind: 'refuse',
        why: `the run ${j.runId} in ${a.stateDir} was started with other flags: ${changed.join(', ')}; run with the same flags to resume it, or add --fresh to start over (its batches are not resumed then)`,
      };
    }
  }
  return { kind: 'resume', journal: j };
}
