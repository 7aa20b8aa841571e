/**
 * The `run` command: INPUT → geminiBatch → OUT, with resume, progress,
 * a summary, signals and exit codes. Everything the user can get wrong ends in
 * one sentence on stderr; the output file is flushed whatever happens, so the
 * same command can pick up where this one stopped.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { GeminiBatchError } from '../errors.js';
import { geminiBatch, type GeminiBatchStream } from '../gemini-batch.js';
import { openBackend } from '../backends/index.js';
import { openJournal, spentAnything, type JournalState } from '../journal/journal.js';
import { reconcileWithService } from '../journal/reconcile.js';
import { acquireStateLock, type StateLock } from '../journal/lock.js';
import { archiveForRestart, partialPathOf, publishOut, refuseForeignOut, type Restart } from './replace-out.js';
import { makeDirs } from '../internal/io/make-dirs.js';
import type { GeminiBatchOptions } from '../options.js';
import type { BatchRecord, JobEvent, ProgressSnapshot } from '../types.js';
import { connect, type Connection } from './connection.js';
import { CliUsageError, errorCode, EXIT_ALL_FAILED, EXIT_BUDGET, EXIT_FATAL, EXIT_OK, EXIT_SIGINT, EXIT_SIGTERM, exitCodeOf } from './errors.js';
import { asFlagError } from './flag-names.js';
import { openInput, type OpenedInput } from './input.js';
import { usd } from '../run/budget-ledger.js';
import { copyOutPlain } from './out-file.js';
import { countCompleteLines, openOutput, OutputDigest, type CompleteLines, type OutputTarget } from './output.js';
import { preflight } from './preflight.js';
import { promptToRequest } from './prompt-request.js';
import { chooseMode, createReporter, type Reporter } from './reporter.js';
import { inputIdentity, judgeState, prefixSha256, runSettings, writeSettings, type CliCompletion } from './run-state.js';
import { retryFinished } from './retry-finished.js';
import { refuseOutputOverInput } from './same-file.js';
import { defaultStateDir } from './state-dir.js';
import { buildSummary } from './summary.js';
import { dryRun } from './dry-run.js';
import { parsePriceTable, type PriceTable } from '../cost/prices.js';

export interface RunFlags {
  model: string;
  output: string;
  stateDir?: string;
  mode: 'auto' | 'file' | 'inline';
  task: 'generate' | 'embed';
  maxFileBytes?: number;
  maxRequests?: number;
  flushAfter?: number;
  uploadConcurrency?: number;
  maxJobs?: number;
  pollInterval?: number;
  maxLineBytes?: number;
  emulator?: boolean;
  backend?: 'gemini' | 'vertex';
  project?: string;
  location?: string;
  bucket?: string;
  promptField?: string;
  keyField?: string;
  system?: string;
  generationConfig?: Record<string, unknown>;
  onInvalid: 'error' | 'emit';
  retryFailed?: number;
  quotaWait?: number;
  adoptWindow?: number;
  outputWait?: number;
  storageBudget?: number;
  cleanup: boolean;
  cancelOnAbort?: boolean;
  quiet?: boolean;
  json?: boolean;
  /** Start a new run even if the state dir holds one (its journal is archived). */
  fresh?: boolean;
  /** Replace an existing OUT that no journal of this tool accounts for. */
  overwrite?: boolean;
  webhookListen?: { host: string; port: number };
  webhookUrl?: string;
  webhookSecret?: string;
  /** --no-store: every request says "store": false. */
  store?: boolean;
  /** --prices FILE: a JSON price table that adds to or overrides the built-in one. */
  prices?: string;
  /** --dry-run: plan only (see dry-run.ts). */
  dryRun?: boolean;
  tier?: 1 | 2 | 3;
  countTokens?: number;
  /** The budget: at most this many USD, the whole run (--max-cost). */
  maxCost?: number;
  outputTokens?: number;
  onBudget?: 'stop' | 'cancel';
}

function checkFlags(f: RunFlags): void {
  if (f.promptField === undefined) {
    const needs = (['keyField', 'system', 'generationConfig'] as const).find((k) => f[k] !== undefined);
    if (needs) {
      const flag = `--${needs.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
      throw new CliUsageError(`${flag} builds requests from plain records, so it needs --prompt-field too`);
    }
  }
  if (!f.dryRun) {
    const planOnly = (['tier', 'countTokens'] as const).find((k) => f[k] !== undefined);
    if (planOnly) throw new CliUsageError(`--${planOnly.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} is a --dry-run flag: add --dry-run to plan the run`);
  }
  if (!f.dryRun && f.maxCost === undefined && (f.outputTokens !== undefined || f.onBudget !== undefined)) {
    throw new CliUsageError(`${f.outputTokens !== undefined ? '--output-tokens' : '--on-budget'} sets how the budget works, so it needs --max-cost too`);
  }
  if (f.maxCost !== undefined && f.promptField !== undefined && f.task === 'generate' && f.outputTokens === undefined && typeof f.generationConfig?.maxOutputTokens !== 'number') {
    throw new CliUsageError('--max-cost needs a bound on each answer: add "maxOutputTokens" to --generation-config, or give --output-tokens (output tokens to assume per request)');
  }
  if (f.quiet && f.json) throw new CliUsageError('--quiet and --json do not go together: pick one');
  if (f.webhookListen === undefined && (f.webhookUrl !== undefined || f.webhookSecret !== undefined)) {
    throw new CliUsageError(`${f.webhookUrl !== undefined ? '--webhook-url' : '--webhook-secret'} needs --webhook-listen: the run must receive the events itself`);
  }
}

/** The --prices file, read and checked once. */
function loadPrices(file: string): PriceTable {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliUsageError(`cannot read --prices ${file}: ${(err as Error).message}`);
  }
  try {
    return parsePriceTable(text, `--prices ${file}`);
  } catch (err) {
    throw new CliUsageError((err as Error).message);
  }
}

/** The library options the flags stand for. */
export function libraryOptions(f: RunFlags, conn: Connection): GeminiBatchOptions<Record<string, unknown>> {
  const o: GeminiBatchOptions<Record<string, unknown>> = {
    model: f.model,
    task: f.task,
    mode: f.mode,
    output: 'jsonl',
    onInvalid: f.onInvalid,
    cleanupRemote: f.cleanup,
    cancelOnAbort: f.cancelOnAbort ?? false,
  };
  if (f.store === false) o.store = false;
  if (f.prices !== undefined) o.prices = loadPrices(f.prices);
  if (conn.apiKey !== undefined) o.apiKey = conn.apiKey;
  if (conn.baseUrl !== undefined) o.baseUrl = conn.baseUrl;
  if (conn.vertex) Object.assign(o, { backend: 'vertex', vertex: conn.vertex });
  if (f.maxFileBytes !== undefined) o.maxFileBytes = f.maxFileBytes;
  if (f.maxRequests !== undefined) o.maxRequestsPerBatch = f.maxRequests;
  if (f.flushAfter !== undefined) o.flushAfterMs = f.flushAfter;
  if (f.uploadConcurrency !== undefined) o.uploadConcurrency = f.uploadConcurrency;
  if (f.maxJobs !== undefined) o.maxJobsInFlight = f.maxJobs;
  if (f.pollInterval !== undefined) o.pollInterval = { initialMs: f.pollInterval, maxMs: Math.max(f.pollInterval, 60_000) };
  // The embedded emulator finishes jobs in a fraction of a second: polling every 2 s would be most of the run.
  else if (f.emulator) o.pollInterval = { initialMs: 100, maxMs: 1_000 };
  if (f.maxLineBytes !== undefined) o.maxLineBytes = f.maxLineBytes;
  if (f.retryFailed !== undefined) o.retryFailedRequests = f.retryFailed;
  if (f.quotaWait !== undefined) o.quotaWaitMs = f.quotaWait;
  if (f.outputWait !== undefined) o.outputWaitMs = f.outputWait;
  if (f.storageBudget !== undefined) o.storageBudgetBytes = f.storageBudget;
  if (f.adoptWindow !== undefined) o.adoptWindowMs = f.adoptWindow;
  // The embedded emulator's list shows a batch at once: no need to wait 90 s for a lagging one.
  else if (f.emulator) o.adoptWindowMs = 2_000;
  if (f.maxCost !== undefined) {
    o.budget = { maxUsd: f.maxCost, onExceed: f.onBudget ?? 'stop', ...(f.outputTokens !== undefined ? { outputTokens: f.outputTokens } : {}) };
  }
  if (f.webhookListen !== undefined) {
    const secret = f.webhookSecret ?? (process.env.GEMINI_WEBHOOK_SECRET?.trim() || undefined);
    o.webhook = { listen: f.webhookListen, ...(f.webhookUrl !== undefined ? { url: f.webhookUrl } : {}), ...(secret !== undefined ? { secret } : {}) };
  }
  if (f.promptField !== undefined) {
    o.toRequest = promptToRequest({
      promptField: f.promptField,
      keyField: f.keyField,
      system: f.system,
      generationConfig: f.generationConfig,
      task: f.task,
    }) as (r: Record<string, unknown>, seq: number) => BatchRecord;
  }
  return o;
}

/** SIGINT/SIGTERM abort the run once; a second one exits at once. */
export function trapSignals(abort: (sig: NodeJS.Signals) => void): { signal: () => NodeJS.Signals | undefined; release: () => void } {
  let got: NodeJS.Signals | undefined;
  const on = (sig: NodeJS.Signals) => {
    if (got) process.exit(sig === 'SIGINT' ? EXIT_SIGINT : EXIT_SIGTERM);
    got = sig;
    abort(sig);
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return {
    signal: () => got,
    release: () => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
    },
  };
}

export async function runBatch(inputPath: string, flags: RunFlags): Promise<number> {
  const reporter: Reporter = createReporter(chooseMode(flags));
  const startedAt = Date.now();
  let conn: Connection | undefined;
  let output: OutputTarget | undefined;
  let input: OpenedInput | undefined;
  let lock: StateLock | undefined;
  let resumable = false;
  /** Where OUT's lines go until the run succeeds (a regular-file OUT only). */
  let partial: string | undefined;
  /** The archived journal of a run this one restarts, to put back if this one fails having spent nothing. */
  let restart: Restart | undefined;
  const abort = new AbortController();
  const signals = trapSignals((sig) => {
    reporter.notice(`${sig}: stopping (press Ctrl-C again to quit at once)`);
    abort.abort(new GeminiBatchError('ERR_ABORTED', `interrupted by ${sig}`));
  });
  try {
    checkFlags(flags);
    // Before anything is opened for writing: OUT must not be INPUT under another name.
    refuseOutputOverInput(inputPath, flags.output);
    if (flags.dryRun) {
      // The plan is the output: no progress display beside it.
      reporter.stop();
      return await dryRun(inputPath, flags, libraryOptions, abort.signal);
    }
    // Before the state dir, OUT or the service is touched: an endpoint, key or webhook port that cannot work fails now.
    await preflight(flags, abort.signal);

    // Resume: a journal in the state dir and an OUT file from the run it records.
    // Only a regular file can be cut back and appended to: stdout, /dev/null or a pipe get no resume.
    const fileOutput = flags.output !== '-' && (!existsSync(flags.output) || statSync(flags.output).isFile());
    const stateDir = flags.stateDir ?? (fileOutput ? defaultStateDir(flags.output) : undefined);
    resumable = stateDir !== undefined && fileOutput;
    const settings = runSettings(flags);
    let resume: CompleteLines | undefined;
    let resumed: JournalState | undefined;
    if (stateDir) {
      try {
        makeDirs(stateDir);
      } catch (err) {
        const fix = flags.stateDir === undefined ? 'give -o a file in a writable directory' : 'give --state-dir a writable directory';
        throw new CliUsageError(`cannot create the state dir ${stateDir}: ${(err as Error).message}; ${fix}`);
      }
      // One run per state dir, from before OUT is touched until the journal records the end.
      lock = acquireStateLock(stateDir, { staleMs: lockStaleMs(), onLost: (err) => abort.abort(lockLost(stateDir, err)) });
      const verdict = await judgeState({ stateDir, inputPath, output: flags.output, settings, fresh: flags.fresh ?? false, retryFailed: flags.retryFailed });
      if (verdict.kind === 'retry') {
        // A finished run and --retry-failed: send only OUT's retryable error lines again (retry-finished.ts).
        return await retryFinished({
          inputPath,
          output: flags.output,
          stateDir,
          finished: verdict,
          rounds: flags.retryFailed!,
          model: flags.model,
          maxLineBytes: flags.maxLineBytes,
          rawLines: flags.promptField === undefined,
          maxCost: flags.maxCost,
          reporter,
          signal: abort.signal,
          startedAt,
          open: async () => {
            conn = await connect(flags);
            if (flags.emulator) reporter.notice(`using ${conn.target}`);
            return libraryOptions(flags, conn);
          },
          redoLost: (dir, dirLock, recorded) => redoWhatTheServiceLost(dir, dirLock, recorded, conn!, reporter, abort.signal),
          lockOptions: { staleMs: lockStaleMs(), onLost: (err) => abort.abort(lockLost(stateDir, err)) },
        });
      }
      if (verdict.kind === 'done') {
        reporter.notice(`nothing to do: run ${verdict.runId} already wrote all ${verdict.records} results to ${flags.output} from this INPUT with these flags (add --fresh to run it again)`);
        return EXIT_OK;
      }
      if (verdict.kind === 'refuse') throw new CliUsageError(verdict.why);
      if (verdict.kind === 'new' && fileOutput) refuseForeignOut(flags.output, stateDir, flags.overwrite ?? false);
      if (verdict.kind === 'restart') {
        restart = archiveForRestart(stateDir);
        const archived = restart.archived;
        if (verdict.why !== '--fresh') reporter.notice(`starting a new run: ${verdict.why}`);
        else if (archived) reporter.notice(`starting a new run (the old journal is kept as ${archived})`);
      }
      if (verdict.kind === 'new' || verdict.kind === 'restart') writeSettings(stateDir, settings);
      else resumed = verdict.journal;
      // A grown run may differ from the finished one in --retry-failed alone: its resume must find these flags.
      if (verdict.kind === 'grow') writeSettings(stateDir, settings);
      if (fileOutput) partial = partialPathOf(flags.output);
      if (partial && (verdict.kind === 'resume' || verdict.kind === 'grow')) {
        // The run goes on in OUT.partial. With none (a grown INPUT, a budget stop, a crash right
        // after OUT was published), from OUT's lines: OUT itself stays as it is until the end.
        if (!existsSync(partial) && existsSync(flags.output)) await copyOutPlain(flags.output, partial);
        // Lines from where a budget stopped sending are BUDGET_EXCEEDED: those records go now.
        const stop = verdict.kind === 'resume' ? verdict.journal.budgetStopSeq : undefined;
        if (existsSync(partial)) resume = countCompleteLines(partial, stop);
        if (verdict.kind === 'grow') {
          reporter.notice(`INPUT grew since run ${verdict.runId} completed: its ${verdict.records} results stay in ${flags.output}; sending only the records after them`);
        } else if (resume) {
          reporter.notice(`resuming: ${resume.lines} results already in ${partial}${stop !== undefined ? ` (the budget had stopped at record ${stop + 1})` : ''}`);
        }
      }
    }

    // The INPUT this run reads, as it is now: at completion its bytes up to here are hashed, so a
    // grown INPUT (the same bytes, then more) runs only what is new next time.
    const inputAtStart = inputIdentity(inputPath);
    if (inputPath === '-' && process.stdin.isTTY) reporter.notice('reading records from the terminal (end with Ctrl-D)');
    // Gemini batch JSONL travels as raw lines: the library parses each once and sends its bytes.
    input = await openInput(inputPath, { maxLineChars: flags.maxLineBytes, rawLines: flags.promptField === undefined });
    conn = await connect(flags);
    if (flags.emulator) reporter.notice(`using ${conn.target}`);
    if (stateDir && lock && resumed && spentAnything(resumed)) await redoWhatTheServiceLost(stateDir, lock, resumed, conn, reporter, abort.signal);

    // The journal geminiBatch opens uses our lock instead of taking its own; we release it at the end.
    lock?.lend();
    let gb: GeminiBatchStream;
    const libOptions = libraryOptions(flags, conn);
    try {
      gb = geminiBatch<Record<string, unknown>>(
        // completeOnEnd false: the journal is completed below, once OUT is durable.
        { ...libOptions, signal: abort.signal, skipResults: resume?.lines ?? 0, completeOnEnd: false, ...(stateDir ? { stateDir } : {}) },
        { lineNumbers: input.lineNumbers },
      );
    } catch (err) {
      throw asFlagError(err);
    }
    output = openOutput(partial ?? flags.output, resume);
    const digest = new OutputDigest(resume);
    const view = reporter.view;
    view.resumed = resume?.lines ?? 0;
    let last: ProgressSnapshot | undefined;
    gb.on('progress', (p: ProgressSnapshot) => {
      last = p;
      view.onWritten(p.resultsOut);
      reporter.progress(p);
    });
    // Said once, when the first batch is on the service: from then on a stop costs money.
    let warnedNoResume = flags.output !== '-';
    gb.on('job', (e: JobEvent) => {
      if (!warnedNoResume) {
        warnedNoResume = true;
        reporter.notice('results go to stdout, so this run cannot resume if it stops (running it again starts over and pays again); to make it resumable, write to a file with -o FILE');
      }
      if (e.state === 'BUDGET') reporter.notice(`budget: ${e.detail ?? ''}`);
      else reporter.job(e);
    });
    // Say where the events must arrive (port 0 resolved): the url to expose through a tunnel.
    if (flags.webhookListen !== undefined) {
      gb.webhookUrl().then((url) => url && reporter.notice(`receiving webhook events at ${url}`), () => undefined);
    }
    void input.done.then(() => (view.inputDone = true));

    await pipeline(input.records, gb, digest.stage(), output.stream);
    await output.finish();
    const progress = last ?? emptyProgress();
    if ((resume?.lines ?? 0) > progress.recordsIn) {
      throw new GeminiBatchError(
        'ERR_STATE_MISMATCH',
        `${partial ?? flags.output} had ${resume!.lines} lines but INPUT has only ${progress.recordsIn} records, so it is not this run's output; delete it and run again`,
      );
    }
    const spending = gb.spending();
    if (spending?.stoppedAtSeq !== undefined) {
      // OUT gets every record's line, the ones not sent BUDGET_EXCEEDED; the journal stays open.
      if (partial) await publishOut(partial, flags.output);
      // Not complete: the same command with a larger --max-cost sends the records not sent.
      reporter.summary(buildSummary({ model: flags.model, progress, resumed: resume?.lines ?? 0, batches: view.batches, wallMs: Date.now() - startedAt, output: flags.output, lost: gb.journal?.lostWork() ?? [] }));
      const notSent = progress.recordsIn - spending.stoppedAtSeq;
      reporter.notice(
        `budget reached: ${usd(spending.spentUsd)} spent of ${usd(spending.maxUsd)}, ${usd(Math.max(0, spending.maxUsd - spending.spentUsd))} left; ${notSent} record${notSent === 1 ? '' : 's'} from record ${spending.stoppedAtSeq + 1} on were not sent (BUDGET_EXCEEDED in ${flags.output}); run the same command with a larger --max-cost to send them (nothing is paid twice)`,
      );
      return EXIT_BUDGET;
    }
    // OUT is replaced only now, by a run that succeeded. Before the journal records the end: a
    // crash between the two leaves an unfinished journal, whose rerun writes OUT again from
    // the results it kept (the other order would leave a completed journal and an old OUT).
    if (partial) await publishOut(partial, flags.output);
    // Only now, with OUT on disk, may the journal drop what a resume would need. What it
    // records lets the same command again see that there is nothing left to do.
    const sha256 = inputAtStart ? prefixSha256(inputPath, inputAtStart.size) : undefined;
    const input_ = inputAtStart && sha256 !== undefined ? { ...inputAtStart, sha256 } : undefined;
    const completion: CliCompletion = {
      output: digest.result(),
      settings,
      ...(input_ ? { input: input_ } : {}),
      records: progress.recordsIn,
    };
    await gb.complete({ output: completion.output, cli: completion });
    const lost = gb.journal?.lostWork() ?? [];

    reporter.summary(
      buildSummary({
        model: flags.model,
        progress,
        resumed: resume?.lines ?? 0,
        batches: view.batches,
        wallMs: Date.now() - startedAt,
        output: flags.output,
        lost,
        ...(libOptions.prices ? { prices: libOptions.prices } : {}),
        ...(gb.journal ? { journaledCosts: gb.journal.costs() } : {}),
      }),
    );
    // Every record came back as an error: nothing usable was produced, and a script should know.
    if (progress.resultsOut > 0 && progress.errorsOut === progress.resultsOut && (resume?.lines ?? 0) === 0) return EXIT_ALL_FAILED;
    return EXIT_OK;
  } catch (err) {
    input?.records.destroy();
    // Whatever was written stays written and durable: the rerun continues after it.
    try {
      await output?.finish();
    } catch {
      // Flushing is best effort here; the error that brought us here matters more.
    }
    // A run that failed having spent nothing leaves a finished run's OUT and journal as they were.
    if (restart?.undo(partial)) restart = undefined;
    const sig = signals.signal();
    if (sig) {
      reporter.notice(
        resumable ? `interrupted; run the same command again to resume from ${flags.output}` : 'interrupted',
      );
      return sig === 'SIGINT' ? EXIT_SIGINT : EXIT_SIGTERM;
    }
    if (flags.output === '-' && errorCode(err) === 'EPIPE') {
      // `… -o - | head`: the reader left on purpose. Nothing worth a word on the terminal.
      return EXIT_FATAL;
    }
    // An option refused mid-run (the budget at a record with no bound) names flags, as one refused at start does.
    const shown = asFlagError(err);
    reporter.fatal(shown);
    return exitCodeOf(shown);
  } finally {
    reporter.stop();
    signals.release();
    lock?.release();
    await conn?.close().catch(() => undefined);
  }
}

/**
 * Chunks whose batch was cancelled (--cancel-on-abort, Ctrl-C) or whose batch,
 * results or upload the service no longer has are marked in the journal to
 * be redone under new names, so the resume completes instead of repeating
 * BATCH_CANCELLED or a 404 for ever.
 */
async function redoWhatTheServiceLost(
  stateDir: string,
  lock: StateLock,
  recorded: JournalState,
  conn: Connection,
  reporter: Reporter,
  signal: AbortSignal,
): Promise<void> {
  const backend = openBackend({ ...(conn.apiKey !== undefined ? { apiKey: conn.apiKey } : {}), ...(conn.baseUrl ? { baseUrl: conn.baseUrl } : {}), ...(conn.vertex ? { backend: 'vertex' as const, vertex: conn.vertex } : {}) });
  lock.lend();
  const journal = openJournal(stateDir, { fingerprint: recorded.fingerprint ?? {} });
  try {
    const r = await reconcileWithService(journal, backend, signal);
    const redo = r.cancelled.length + r.lost.length;
    if (redo) {
      const paid = r.paidLost.length ? `; ${r.paidLost.length} had already succeeded, so that paid work was lost` : '';
      reporter.notice(`redoing ${redo} batch${redo === 1 ? '' : 'es'} the service no longer has (${r.cancelled.length} cancelled, ${r.lost.length} gone)${paid}`);
    }
  } finally {
    await journal.close();
    await backend.close().catch(() => undefined);
  }
}

/** How long the state dir's lease may go unrenewed before another run takes it (GEMINI_BATCH_LOCK_STALE_MS, for tests; default 30 s). */
function lockStaleMs(): number | undefined {
  const ms = Number(process.env.GEMINI_BATCH_LOCK_STALE_MS);
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

function lockLost(stateDir: string, err: Error): GeminiBatchError {
  return new GeminiBatchError(
    'ERR_STATE_LOCKED',
    `lost the lock of the state dir ${stateDir} (it was not renewed in time: ${err.message}), so another run may have taken it; stopping before two runs write one journal`,
  );
}

function emptyProgress(): ProgressSnapshot {
  return { recordsIn: 0, invalidRecords: 0, chunksSpooled: 0, bytesSpooled: 0, bytesUploaded: 0, jobs: {}, resultsOut: 0, errorsOut: 0, errorsByStatus: {}, tokens: { prompt: 0, candidates: 0, thoughts: 0, cached: 0, total: 0 } };
}
