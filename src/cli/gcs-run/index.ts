/**
 * `gemini-batch run 'gs://B/in/*.jsonl' --backend vertex -o OUT`: input
 * already in Cloud Storage (the scale-out path, many producers writing
 * shards). The objects matching the pattern are listed once (no match: exit
 * 2 before OUT is touched) and journaled; each is scanned once, streamed
 * (line-index.ts), then either submitted as it is, one job reading the
 * user's object (as-is.ts), or split through the library (split.ts). Up to
 * --max-jobs objects are in flight at once. Each object's results land in
 * line order in its own file in the state dir; OUT is their concatenation in
 * name order (out.ts). A rerun of the same command resumes from the journal
 * (run-journal.ts): finished objects are not redone, jobs created are waited
 * for, never created again.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobService } from '../../backend/types.js';
import { createVertexBackend, VERTEX_LIMITS } from '../../backends/vertex/backend.js';
import { gsUri, parseGsUri, type GcsObject } from '../../backends/vertex/gcs.js';
import { GeminiBatchError } from '../../errors.js';
import { Slots } from '../../internal/concurrency/bounded.js';
import { makeDirs } from '../../internal/io/make-dirs.js';
import { acquireStateLock, type StateLock } from '../../journal/lock.js';
import { DEFAULT_ADOPT_WINDOW_MS, DEFAULT_OUTPUT_WAIT_MS } from '../../options/survival.js';
import { connect, type Connection } from '../connection.js';
import { CliUsageError, EXIT_ALL_FAILED, EXIT_OK, EXIT_SIGINT, EXIT_SIGTERM, exitCodeOf } from '../errors.js';
import { asFlagError } from '../flag-names.js';
import { ON_INVALID_HINT } from '../input.js';
import { chooseMode, createReporter } from '../reporter.js';
import { libraryOptions, trapSignals, type RunFlags } from '../run-batch.js';
import { defaultStateDir } from '../state-dir.js';
import { runAsIs, type AsIsContext } from './as-is.js';
import { INDEX_FILE, scanObject, type JobLimits } from './line-index.js';
import { outKind, writeOut } from './out.js';
import { listMatching, parsePattern } from './pattern.js';
import { GCS_JOURNAL_FILE, GcsJournal, readGcsJournal, type GcsRunState, type ObjectEntry, type ObjectState } from './run-journal.js';
import { redoLines } from './redo.js';
import { runSplit, type SplitContext } from './split.js';
import { summarise } from './tally.js';

/** Flags that make no sense for objects already in the service's input shape. */
function checkFlags(f: RunFlags): void {
  if (f.backend !== 'vertex') throw new CliUsageError('a gs:// INPUT is read by Vertex AI batch jobs: add --backend vertex (with --project and --bucket)');
  const refused: Array<[keyof RunFlags, string]> = [
    ['promptField', '--prompt-field'],
    ['dryRun', '--dry-run'],
    ['maxCost', '--max-cost'],
    ['webhookListen', '--webhook-listen'],
  ];
  for (const [k, flag] of refused) if (f[k] !== undefined && f[k] !== false) throw new CliUsageError(`${flag} does not work with a gs:// INPUT yet: objects are read as Gemini batch JSONL ({"key", "request"} per line)`);
  if (f.store === false) throw new CliUsageError('--no-store is a Developer API option: Vertex AI batch refuses the "store" field');
  if (f.task === 'embed') throw new CliUsageError('--task embed does not work with a gs:// INPUT: Vertex batch jobs here run generateContent');
}

/** Where a run whose OUT is not a local file keeps its state by default: under the working directory. */
function stateDirOf(f: RunFlags): { dir: string; temporary: boolean } {
  if (f.stateDir) return { dir: f.stateDir, temporary: false };
  const kind = outKind(f.output);
  if (kind === 'file') return { dir: defaultStateDir(f.output), temporary: false };
  if (kind === 'gcs') return { dir: join(process.cwd(), '.gemini-batch', f.output.replace(/^gs:\/\//, 'gs-').replace(/[^A-Za-z0-9._-]/g, '_')), temporary: false };
  return { dir: mkdtempSync(join(tmpdir(), 'gemini-batch-gcs-')), temporary: true };
}

const newRunId = () => `g${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;

/** A new run over a state dir that holds an older one: the old journal is archived, its object files removed. */
function archiveOld(stateDir: string): void {
  const journal = join(stateDir, GCS_JOURNAL_FILE);
  if (existsSync(journal)) {
    const archive = join(stateDir, 'archive');
    mkdirSync(archive, { recursive: true });
    renameSync(journal, join(archive, `${Date.now()}-${GCS_JOURNAL_FILE}`));
  }
  rmSync(join(stateDir, 'objects'), { recursive: true, force: true });
}

export async function runGcsBatch(input: string, flags: RunFlags): Promise<number> {
  const reporter = createReporter(chooseMode(flags));
  const startedAt = Date.now();
  const abort = new AbortController();
  const signals = trapSignals((sig) => {
    reporter.notice(`${sig}: stopping (press Ctrl-C again to quit at once)`);
    abort.abort(new GeminiBatchError('ERR_ABORTED', `interrupted by ${sig}`));
  });
  let conn: Connection | undefined;
  let backend: ReturnType<typeof createVertexBackend> | undefined;
  let lock: StateLock | undefined;
  let journal: GcsJournal | undefined;
  let state: { dir: string; temporary: boolean } | undefined;
  let resumable = false;
  try {
    checkFlags(flags);
    const pattern = parsePattern(input);
    const kind = outKind(flags.output);
    conn = await connect(flags);
    if (flags.emulator) reporter.notice(`using ${conn.target}`);
    backend = createVertexBackend({ ...conn.vertex! });
    const gcs = backend.gcs;
    state = stateDirOf(flags);
    const stateDir = state.dir;
    resumable = !state.temporary;
    const prior = state.temporary ? undefined : readGcsJournal(stateDir);
    if (prior?.run && !flags.fresh) {
      if (prior.run.input !== input || prior.run.model !== flags.model || prior.run.output !== flags.output) {
        throw new CliUsageError(`the state dir ${stateDir} holds a run of ${prior.run.input} with -m ${prior.run.model} to ${prior.run.output}; add --fresh to start a new run there, or give another --state-dir`);
      }
      if (prior.complete) {
        reporter.notice(`nothing to do: run ${prior.run.runId} already wrote every result of ${input} to ${flags.output} (add --fresh to run it again)`);
        return EXIT_OK;
      }
    }
    const fresh = flags.fresh === true || !prior?.run || !prior.objects;
    let listed: GcsObject[] = [];
    if (fresh) {
      listed = await listMatching(gcs, pattern, abort.signal);
      if (listed.length === 0) {
        throw new CliUsageError(`no object in gs://${pattern.bucket} matches ${input} (listed by the prefix ${JSON.stringify(pattern.prefix)}); check the bucket and the pattern`);
      }
      if (kind === 'file' && existsSync(flags.output) && statSync(flags.output).isFile() && statSync(flags.output).size > 0 && !prior?.run && !flags.overwrite) {
        throw new CliUsageError(`OUT ${flags.output} already exists and was not written by a run of gemini-batch; add --overwrite to replace it, or give -o another file`);
      }
      if (kind === 'gcs') {
        const { bucket, name } = parseGsUri(flags.output);
        if (await gcs.stat(bucket, name, abort.signal)) throw new CliUsageError(`OUT ${flags.output} already exists; it is written create-only: remove it, or give -o another object`);
      }
    }
    makeDirs(stateDir);
    lock = acquireStateLock(stateDir, { onLost: (err) => abort.abort(new GeminiBatchError('ERR_STATE_LOCKED', `lost the lock of the state dir ${stateDir} (${err.message}); stopping before two runs write one journal`)) });
    if (fresh) archiveOld(stateDir);
    journal = new GcsJournal(stateDir);
    let run: GcsRunState;
    if (fresh) {
      const runId = newRunId();
      const objects: ObjectEntry[] = listed.map((o) => ({ name: o.name, size: o.size, ...(o.generation ? { generation: o.generation } : {}), ...(o.crc32c ? { crc32c: o.crc32c } : {}), ...(o.md5Hash ? { md5Hash: o.md5Hash } : {}) }));
      journal.append({ t: 'run', runId, input, model: flags.model, output: flags.output });
      journal.append({ t: 'objects', bucket: pattern.bucket, objects });
      run = { run: { t: 'run', runId, input, model: flags.model, output: flags.output }, bucket: pattern.bucket, objects, perObject: new Map(), complete: false };
    } else {
      run = prior!;
      const done = [...run.perObject.values()].filter((s) => s.done).length;
      reporter.notice(`resuming run ${run.run!.runId}: ${done} of ${run.objects!.length} objects already done`);
    }
    if (state.temporary) reporter.notice('results go to stdout, so this run cannot resume if it stops (running it again starts over and pays again); to make it resumable, give --state-dir DIR');

    const objects = run.objects!;
    const bucket = run.bucket!;
    const lib = libraryOptions(flags, conn);
    const pollInterval = { initialMs: lib.pollInterval?.initialMs ?? 2_000, maxMs: lib.pollInterval?.maxMs ?? 60_000 };
    const limits: JobLimits = {
      maxLines: Math.min(flags.maxRequests ?? VERTEX_LIMITS.maxRequestsPerJob, VERTEX_LIMITS.maxRequestsPerJob),
      maxBytes: Math.min(flags.maxFileBytes ?? VERTEX_LIMITS.maxInputBytes, VERTEX_LIMITS.maxInputBytes),
    };
    const inner = new AbortController();
    const stopInner = () => inner.abort(abort.signal.reason);
    abort.signal.addEventListener('abort', stopInner, { once: true });
    const j = journal;
    const asIs: AsIsContext = {
      gcs,
      jobs: backend.jobs,
      journal: j,
      runId: run.run!.runId,
      model: flags.model,
      signal: inner.signal,
      pollInterval,
      adoptWindowMs: lib.adoptWindowMs ?? DEFAULT_ADOPT_WINDOW_MS,
      outputWaitMs: lib.outputWaitMs ?? DEFAULT_OUTPUT_WAIT_MS,
      cleanup: flags.cleanup,
      fetches: new Slots(2),
      notice: (m) => reporter.notice(m),
      redo: (i, dir, mask) => splits.run(() => redoLines(splitContext, { bucket, ...objects[i]! }, dir, mask), inner.signal),
    };
    const splits = new Slots(1);
    const totals = { lines: 0, errors: 0, asIs: 0, split: 0 };
    /** Batches of this session's split objects and redone lines (as-is objects have one job each). */
    const splitBatches = new Set<string>();
    const splitContext: SplitContext = {
      gcs,
      journal: j,
      signal: inner.signal,
      options: lib,
      onJob: (e) => {
        if (e.batchName) splitBatches.add(e.batchName);
        reporter.job(e);
      },
    };
    const earlier = new Set([...run.perObject].filter(([, s]) => s.done).map(([i]) => i));
    const dirOf = (i: number) => join(stateDir, 'objects', String(i));

    const one = async (i: number): Promise<void> => {
      const entry = objects[i]!;
      const st: ObjectState = run.perObject.get(i) ?? {};
      const uri = gsUri(bucket, entry.name);
      const obj: GcsObject = { bucket, ...entry };
      const dir = dirOf(i);
      makeDirs(dir);
      let plan = st.done ? st.plan : undefined;
      if (!st.done) {
        plan = st.plan?.mode === 'as-is' && !existsSync(join(dir, INDEX_FILE)) ? undefined : st.plan;
        if (!plan) {
          const v = await scanObject(gcs, obj, dir, limits, inner.signal);
          if (!v.fits && v.invalid && flags.onInvalid !== 'emit') throw new GeminiBatchError('ERR_INVALID_RECORD', `${uri}: ${v.invalid}; ${ON_INVALID_HINT}`);
          plan = v.fits ? { mode: 'as-is', lines: v.lines } : { mode: 'split', why: v.why };
          j.append({ t: 'plan', i, ...plan });
        }
      }
      let done = st.done;
      if (!done && plan?.mode === 'as-is') done = await runAsIs(asIs, i, uri, plan.lines!, dir, st);
      else if (!done) {
        reporter.notice(`${uri}: split through this machine (${plan?.why ?? 'it does not fit a job as it is'})`);
        done = await splits.run(() => runSplit(splitContext, i, obj, dir), inner.signal);
      }
      totals.lines += done!.lines;
      totals.errors += done!.errors;
      if (plan?.mode === 'as-is') totals.asIs++;
      else totals.split++;
    };

    let next = 0;
    let failure: unknown;
    const worker = async () => {
      while (!inner.signal.aborted) {
        const i = next++;
        if (i >= objects.length) return;
        try {
          await one(i);
        } catch (err) {
          if (failure === undefined || (isAbort(failure) && !isAbort(err))) failure = err;
          inner.abort(err);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(objects.length, flags.maxJobs ?? 8) }, worker));
    abort.signal.removeEventListener('abort', stopInner);
    if (failure !== undefined) throw abort.signal.aborted ? abort.signal.reason : failure;

    await writeOut(
      flags.output,
      objects.map((_, i) => join(dirOf(i), 'results.jsonl')),
      { gcs, stagingPath: join(stateDir, 'out.jsonl'), ...(run.outUploadUrl ? { uploadUrl: run.outUploadUrl } : {}), onUploadUrl: (url) => j.append({ t: 'out-upload', url }), signal: abort.signal },
    );
    const summary = await summarise({
      model: flags.model,
      parts: objects.map((_, i) => ({ path: join(dirOf(i), 'results.jsonl'), earlier: earlier.has(i) })),
      batches: totals.asIs + splitBatches.size,
      wallMs: Date.now() - startedAt,
      output: flags.output,
      ...(lib.prices ? { prices: lib.prices } : {}),
    });
    j.append({ t: 'complete' });
    // The completed journal is what a rerun needs; the objects' files are not.
    rmSync(join(stateDir, 'objects'), { recursive: true, force: true });
    rmSync(join(stateDir, 'out.jsonl'), { force: true });
    reporter.notice(`${objects.length} object${objects.length === 1 ? '' : 's'}: ${totals.asIs} submitted as they are, ${totals.split} split`);
    reporter.summary(summary);
    return totals.lines > 0 && totals.errors === totals.lines ? EXIT_ALL_FAILED : EXIT_OK;
  } catch (err) {
    const sig = signals.signal();
    if (sig) {
      if (flags.cancelOnAbort && backend && state) await cancelAsIsJobs(backend.jobs, state.dir, (m) => reporter.notice(m));
      reporter.notice(resumable ? `interrupted; run the same command again to resume` : 'interrupted');
      return sig === 'SIGINT' ? EXIT_SIGINT : EXIT_SIGTERM;
    }
    const shown = asFlagError(err);
    reporter.fatal(shown);
    return exitCodeOf(shown);
  } finally {
    reporter.stop();
    signals.release();
    journal?.close();
    lock?.release();
    await backend?.close().catch(() => undefined);
    await conn?.close().catch(() => undefined);
    if (state?.temporary) rmSync(state.dir, { recursive: true, force: true });
  }
}

/** How long --cancel-on-abort waits for the cancels of as-is jobs before it gives up on them. */
const CANCEL_WAIT_MS = 30_000;

/**
 * --cancel-on-abort: the as-is jobs this run created and has not finished
 * are cancelled (split objects' batches are the library's to cancel, which
 * it does with the same flag). Bounded: a cancel that does not answer in
 * time is named, and the job left as it is.
 */
async function cancelAsIsJobs(jobs: JobService, stateDir: string, notice: (m: string) => void): Promise<void> {
  const open = [...(readGcsJournal(stateDir)?.perObject.values() ?? [])].filter((s) => s.job && !s.done).map((s) => s.job!);
  if (open.length === 0) return;
  const timeout = AbortSignal.timeout(CANCEL_WAIT_MS);
  const results = await Promise.allSettled(open.map((name) => jobs.cancel(name, timeout)));
  const failed = open.filter((_, k) => results[k]!.status === 'rejected');
  notice(`cancelled ${open.length - failed.length} of ${open.length} job${open.length === 1 ? '' : 's'} in flight${failed.length ? `; not cancelled (still running, a rerun waits for them): ${failed.join(', ')}` : ''}`);
}

function isAbort(err: unknown): boolean {
  return err instanceof GeminiBatchError && err.code === 'ERR_ABORTED';
}
