/**
 * `--retry-failed N` on a finished run: the same command again sends only the
 * records whose OUT line is a resendable error (out-line.ts), up to N times
 * each, and rewrites OUT in input order with their new lines, through
 * OUT.partial and a rename like every run. Records that already have an
 * answer are never sent (nor paid) again.
 *
 * The resend is a library run of its own (geminiBatch over the picked
 * records, state dir `<state dir>/retry/`), so its journal gives it the same
 * guarantees as any run: a kill -9 and the same command again go on with
 * the same records and the batches already created. The finished run's
 * journal is left as it is; OUTs a resend publishes are recorded beside it
 * (retry-state.ts), so the finished run still knows OUT as its own.
 */
import { rmSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { GeminiBatchError } from '../errors.js';
import { geminiBatch, type GeminiBatchStream } from '../gemini-batch.js';
import { makeDirs } from '../internal/io/make-dirs.js';
import { readJournal, spentAnything, type JournalState } from '../journal/journal.js';
import { acquireStateLock, type StateLock } from '../journal/lock.js';
import type { GeminiBatchOptions } from '../options.js';
import { usd } from '../run/budget-ledger.js';
import type { JobEvent, ProgressSnapshot } from '../types.js';
import { EXIT_ALL_FAILED, EXIT_BUDGET, EXIT_OK } from './errors.js';
import { asFlagError } from './flag-names.js';
import { openInput, type OpenedInput } from './input.js';
import { openOutput, OutputDigest, type OutputTarget } from './output.js';
import { partialPathOf, publishOut } from './replace-out.js';
import type { Reporter } from './reporter.js';
import { mergeIntoOut, selectRecords, type MergeTally } from './retry-merge.js';
import { byStatus, scanOut } from './retry-scan.js';
import { readPlan, readSeqs, recordRewrite, retryDirOf, rewritesSpent, writePlan } from './retry-state.js';
import type { OutDigest } from './out-file.js';
import { buildSummary } from './summary.js';

export interface RetryFinishedArgs {
  inputPath: string;
  output: string;
  stateDir: string;
  /** The finished run: its journal, and OUT as it is now (checked as its own by judgeState). */
  finished: { journal: JournalState; runId: string; records: number; out: OutDigest };
  /** --retry-failed N: each picked record is sent at most N times. */
  rounds: number;
  model: string;
  maxLineBytes?: number;
  rawLines: boolean;
  maxCost?: number;
  reporter: Reporter;
  signal: AbortSignal;
  startedAt: number;
  /** Connect (only once there is something to send) and build the library options of this command. */
  open(): Promise<GeminiBatchOptions<Record<string, unknown>>>;
  /** Mark for redo what the service no longer has of the resend's batches (as a resumed run does). */
  redoLost(dir: string, lock: StateLock, recorded: JournalState): Promise<void>;
  lockOptions: { staleMs?: number; onLost(err: Error): void };
}

/** The resend's plan: the one in progress for this very OUT, or a new one picked from OUT (undefined: nothing to resend). */
async function planResend(a: RetryFinishedArgs, dir: string): Promise<{ seqs: Uint32Array; resumed: boolean } | undefined> {
  const plan = readPlan(dir);
  const inProgress = plan && plan.base.sha256 === a.finished.out.sha256 && plan.base.bytes === a.finished.out.bytes && readJournal(dir)?.completed !== true;
  if (inProgress) return { seqs: readSeqs(dir), resumed: true };
  // A resend that finished (or published OUT and was killed before its journal said so): its work is in OUT.
  rmSync(dir, { recursive: true, force: true });
  const scan = await scanOut(a.output);
  if (scan.lines !== a.finished.records) {
    throw new GeminiBatchError('ERR_STATE_MISMATCH', `${a.output} has ${scan.lines} lines but run ${a.finished.runId} wrote ${a.finished.records}; add --fresh to run it (and pay) again`);
  }
  const kept = Object.keys(scan.kept).length ? ` (left as they are: ${byStatus(scan.kept)})` : '';
  if (scan.seqs.length === 0) {
    a.reporter.notice(`nothing to resend: none of the ${scan.lines} results of run ${a.finished.runId} in ${a.output} is a retryable error${kept}`);
    return undefined;
  }
  a.reporter.notice(`resending ${scan.seqs.length} of ${scan.lines} records whose result is a retryable error (${byStatus(scan.resend)}), up to ${a.rounds} time${a.rounds === 1 ? '' : 's'} each${kept}`);
  makeDirs(dir);
  writePlan(dir, { base: { bytes: a.finished.out.bytes, sha256: a.finished.out.sha256 }, count: scan.seqs.length }, scan.seqs);
  return { seqs: scan.seqs, resumed: false };
}

/** What is left of --max-cost after the finished run and earlier resends (undefined: no budget). */
function budgetLeft(a: RetryFinishedArgs): number | undefined {
  if (a.maxCost === undefined) return undefined;
  let spent = rewritesSpent(a.stateDir);
  for (const c of a.finished.journal.costs.values()) spent += c.usd;
  return a.maxCost - spent;
}

export async function retryFinished(a: RetryFinishedArgs): Promise<number> {
  const dir = retryDirOf(a.stateDir);
  const picked = await planResend(a, dir);
  if (!picked) return EXIT_OK;
  const { seqs } = picked;
  if (picked.resumed) a.reporter.notice(`resuming the resend of ${seqs.length} records with retryable errors in ${a.output}`);
  const left = budgetLeft(a);
  if (left !== undefined && left <= 0) {
    a.reporter.notice(`budget reached: the run has spent its --max-cost of ${usd(a.maxCost!)}; run the same command with a larger --max-cost to resend the ${seqs.length} records`);
    return EXIT_BUDGET;
  }

  let lock: StateLock | undefined;
  let input: OpenedInput | undefined;
  let output: OutputTarget | undefined;
  try {
    const options = await a.open();
    lock = acquireStateLock(dir, a.lockOptions);
    const recorded = readJournal(dir);
    if (recorded && spentAnything(recorded)) await a.redoLost(dir, lock, recorded);
    input = await openInput(a.inputPath, { maxLineChars: a.maxLineBytes, rawLines: a.rawLines });
    lock.lend();
    let gb: GeminiBatchStream;
    try {
      gb = geminiBatch<Record<string, unknown>>(
        {
          ...options,
          // The first send is the first of the N.
          retryFailedRequests: a.rounds - 1,
          ...(left !== undefined && options.budget ? { budget: { ...options.budget, maxUsd: left } } : {}),
          signal: a.signal,
          completeOnEnd: false,
          stateDir: dir,
        },
        { lineNumbers: input.lineNumbers },
      );
    } catch (err) {
      throw asFlagError(err);
    }
    const partial = partialPathOf(a.output);
    output = openOutput(partial);
    const digest = new OutputDigest();
    const tally: MergeTally = { answered: 0, failing: 0, notSent: 0, okLines: 0 };
    let last: ProgressSnapshot | undefined;
    gb.on('progress', (p: ProgressSnapshot) => {
      last = p;
      a.reporter.view.onWritten(p.resultsOut);
      a.reporter.progress(p);
    });
    gb.on('job', (e: JobEvent) => (e.state === 'BUDGET' ? a.reporter.notice(`budget: ${e.detail ?? ''}`) : a.reporter.job(e)));

    await pipeline(input.records, selectRecords(seqs), gb, mergeIntoOut(a.output, seqs, tally), digest.stage(), output.stream);
    await output.finish();

    const written = digest.result();
    const spent = gb.journal?.costs().reduce((t, c) => t + c.usd, 0) ?? 0;
    // Recorded before the rename: whenever OUT is the new one, the finished run knows it.
    recordRewrite(a.stateDir, { ...written, usd: spent });
    await publishOut(partial, a.output);
    await gb.complete({ output: written, resent: seqs.length });

    const progress = last;
    if (progress) {
      a.reporter.summary({
        ...buildSummary({ model: a.model, progress, resumed: 0, batches: a.reporter.view.batches, wallMs: Date.now() - a.startedAt, output: a.output, lost: gb.journal?.lostWork() ?? [] }),
        resent: { records: seqs.length, answered: tally.answered, failing: tally.failing, notSent: tally.notSent },
      });
    }
    const notSent = tally.notSent ? `, ${tally.notSent} not sent (the --max-cost budget ran out: their old lines stay; a larger --max-cost resends them)` : '';
    a.reporter.notice(`resent ${seqs.length} record${seqs.length === 1 ? '' : 's'}: ${tally.answered} now answered, ${tally.failing} still failing${notSent}; ${a.output} rewritten in input order`);
    if (tally.notSent) return EXIT_BUDGET;
    return tally.okLines === 0 ? EXIT_ALL_FAILED : EXIT_OK;
  } catch (err) {
    input?.records.destroy();
    try {
      await output?.finish();
    } catch {
      // The error that brought us here matters more.
    }
    throw err;
  } finally {
    lock?.release();
  }
}

