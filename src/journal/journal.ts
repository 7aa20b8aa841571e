/**
 * The run journal: an append-only JSONL file in the stateDir, fsynced at
 * every intent, replayed on open. It is what makes a rerun resume instead of
 * paying twice (DESIGN.md invariants 3 and 4). It never holds the API key:
 * only chunk facts, upload session URLs, file and batch names.
 *
 * Opening it takes the state dir's lock (one run per state dir); close()
 * releases it. Paths inside are stored relative to the state dir, which is
 * made absolute at open, so a resume from another cwd finds everything.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fdatasyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { BatchState } from '../backend/types.js';
import { GeminiBatchError } from '../errors.js';
import type { Chunk, ResultError } from '../types.js';
import { acquireStateLock, borrowStateLock, type StateLock } from './lock.js';
import { makeDirs } from '../internal/io/make-dirs.js';
import type { BatchCost, ChunkRecord, CompletionInfo, LostReason, LostWork, RunJournal } from './types.js';

export const JOURNAL_FILE = 'journal.jsonl';
const VERSION = 1;

type Entry =
  | { t: 'run'; v: number; runId: string; fingerprint: Record<string, unknown> }
  | { t: 'chunk'; index: number; firstSeq: number; count: number; bytes: number; sha256: string }
  | { t: 'upload-start'; index: number; uploadUrl: string }
  | { t: 'upload-done'; index: number; fileName: string }
  /** `webhookUrl`: where the service POSTs this batch's events (issue 13), so a resume listens there again. */
  | { t: 'create-intent'; index: number; displayName: string; webhookUrl?: string }
  | { t: 'created'; index: number; displayName: string; name: string }
  | { t: 'terminal'; index: number; displayName: string; state: BatchState }
  /** `rel`: path is relative to the state dir (journals before it held cwd-relative or absolute paths). */
  | { t: 'results'; index: number; path: string; rel?: true; failure?: ResultError }
  /** The chunk's work on the service was given up: redo it under the next attempt. */
  | { t: 'lost'; index: number; reason: LostReason; paid: boolean; uploadGone: boolean }
  | { t: 'emitted'; seqEnd: number }
  /** A batch's results cost this (issue 20): keyed by batch name, so a resume that fetches them again does not count them twice. */
  | ({ t: 'cost' } & BatchCost)
  /** The budget stopped sending at this record: OUT's lines from it on are BUDGET_EXCEEDED, to be sent by a rerun. */
  | { t: 'budget-stop'; seq: number }
  | { t: 'complete'; info?: CompletionInfo };

export interface OpenJournalOptions {
  runId?: string;
  /** Settings that decide chunk boundaries and requests: a rerun must match them. */
  fingerprint: Record<string, unknown>;
}

/**
 * The part label of a chunk's batches: `<index>` on the first attempt,
 * `<index>-a<n>` once it was cancelled or lost n times. Batches are named
 * `<runId>-<part>` (then the stage's own `-r<k>` / split suffixes), so a redo
 * never meets the old attempt's batches when adopting by displayName.
 */
export function chunkPart(index: number, attempt = 0): string {
  return attempt > 0 ? `${index}-a${attempt}` : String(index);
}

/** What a journal file says, replayed (no lock taken, nothing written). */
export interface JournalState {
  runId: string | undefined;
  fingerprint: Record<string, unknown> | undefined;
  chunks: Map<number, ChunkRecord>;
  emittedSeq: number;
  completed: boolean;
  completion: CompletionInfo | undefined;
  lost: LostWork[];
  /** Batch name → what its results cost. */
  costs: Map<string, BatchCost>;
  budgetStopSeq: number | undefined;
  /** Records below this seq were delivered by a run recorded complete (their results files are gone). */
  deliveredSeq: number;
  /** Bytes of whole, parsable lines (a torn tail from a crash is not counted). */
  validBytes: number;
}

function emptyState(): JournalState {
  return { runId: undefined, fingerprint: undefined, chunks: new Map(), emittedSeq: 0, completed: false, completion: undefined, lost: [], costs: new Map(), budgetStopSeq: undefined, deliveredSeq: 0, validBytes: 0 };
}

function resolveResultsPath(dir: string, e: Extract<Entry, { t: 'results' }>): string {
  if (e.rel) return resolve(dir, e.path);
  if (isAbsolute(e.path)) return e.path;
  // Old journals held a path relative to the cwd of the run that wrote it: the file is in results/.
  return join(dir, 'results', basename(e.path));
}

function apply(s: JournalState, dir: string, e: Entry): void {
  switch (e.t) {
    case 'run':
      s.runId = e.runId;
      s.fingerprint = e.fingerprint;
      return;
    case 'chunk':
      // A chunk past a completed run's end: the input grew, and the run goes on with it (issue 20).
      if (s.completed) {
        s.completed = false;
        s.completion = undefined;
      }
      s.chunks.set(e.index, { index: e.index, firstSeq: e.firstSeq, count: e.count, bytes: e.bytes, sha256: e.sha256, attempt: 0, batches: {}, terminal: {} });
      return;
    case 'emitted':
      s.emittedSeq = Math.max(s.emittedSeq, e.seqEnd);
      return;
    case 'complete':
      s.completed = true;
      s.completion = e.info;
      s.deliveredSeq = Math.max(s.deliveredSeq, s.emittedSeq);
      // Every record was sent by then: a budget stop before is history, not where a resume starts.
      s.budgetStopSeq = undefined;
      return;
    case 'cost': {
      const { t: _t, ...cost } = e;
      s.costs.set(e.batch, cost);
      return;
    }
    case 'budget-stop':
      s.budgetStopSeq = e.seq;
      return;
  }
  const c = s.chunks.get(e.index);
  if (!c) return;
  switch (e.t) {
    case 'upload-start':
      c.uploadUrl = e.uploadUrl;
      break;
    case 'upload-done':
      c.fileName = e.fileName;
      break;
    case 'create-intent':
      c.batches[e.displayName] ??= '';
      if (e.webhookUrl !== undefined) (c.webhookUrls ??= {})[e.displayName] = e.webhookUrl;
      break;
    case 'created':
      c.batches[e.displayName] = e.name;
      break;
    case 'terminal':
      c.terminal[e.displayName] = e.state;
      break;
    case 'results':
      c.resultsPath = resolveResultsPath(dir, e);
      c.failure = e.failure;
      break;
    case 'lost':
      s.lost.push({ index: e.index, reason: e.reason, paid: e.paid, attempt: c.attempt });
      c.attempt++;
      c.batches = {};
      c.terminal = {};
      if (e.uploadGone) {
        c.uploadUrl = undefined;
        c.fileName = undefined;
      }
      break;
  }
}

/** Replay the journal text of `dir`. */
function replay(dir: string, text: string): JournalState {
  const s = emptyState();
  let pos = 0;
  while (pos < text.length) {
    const nl = text.indexOf('\n', pos);
    if (nl === -1) break; // a torn last line from a crash: dropped
    const line = text.slice(pos, nl);
    pos = nl + 1;
    let e: Entry;
    try {
      e = JSON.parse(line) as Entry;
    } catch {
      break;
    }
    s.validBytes = Buffer.byteLength(text.slice(0, pos));
    apply(s, dir, e);
  }
  return s;
}

/** Read the journal in `dir` without locking or changing it (undefined: none there). */
export function readJournal(dir: string): JournalState | undefined {
  const abs = resolve(dir);
  const path = join(abs, JOURNAL_FILE);
  if (!existsSync(path)) return undefined;
  return replay(abs, readFileSync(path, 'utf8'));
}

/** Whether the recorded run started an upload or a batch: only then is there money at stake. */
export function spentAnything(s: JournalState): boolean {
  if (s.lost.length) return true;
  for (const c of s.chunks.values()) if (c.uploadUrl || c.fileName || Object.keys(c.batches).length) return true;
  return false;
}

export class FileJournal implements RunJournal {
  readonly runId: string;
  readonly dir: string;
  readonly resultsDir: string;
  private readonly state: JournalState;
  private fd: number;
  private readonly path: string;
  private readonly lock: StateLock;
  /** The lock was lent by our caller (the CLI), who releases it. */
  private readonly borrowedLock: boolean;

  constructor(dir: string, opts: OpenJournalOptions) {
    this.dir = resolve(dir);
    const path = join(this.dir, JOURNAL_FILE);
    this.path = path;
    this.resultsDir = join(this.dir, 'results');
    makeDirs(this.resultsDir);
    const borrowed = borrowStateLock(this.dir);
    this.lock = borrowed ?? acquireStateLock(this.dir);
    this.borrowedLock = borrowed !== undefined;
    try {
      let s = existsSync(path) ? replay(this.dir, readFileSync(path, 'utf8')) : emptyState();
      if (s.runId !== undefined && !s.completed && !spentAnything(s) && JSON.stringify(opts.fingerprint) !== JSON.stringify(s.fingerprint)) {
        // Nothing was uploaded or created under the old settings (a run that
        // stopped on a bad line, say): there is nothing to resume, start afresh.
        s = emptyState();
      }
      this.state = s;
      const header = s.runId !== undefined ? { runId: s.runId, fingerprint: s.fingerprint ?? {} } : undefined;
      // A completed run opens whatever the settings now: geminiBatch refuses to grow it under others (changedSettings).
      if (header && !s.completed) {
        const changed = Object.keys({ ...header.fingerprint, ...opts.fingerprint })
          .filter((k) => JSON.stringify(header.fingerprint[k]) !== JSON.stringify(opts.fingerprint[k]))
          .map((k) => `${k} was ${JSON.stringify(header.fingerprint[k])}, now ${JSON.stringify(opts.fingerprint[k])}`);
        if (changed.length) {
          throw new GeminiBatchError(
            'ERR_STATE_MISMATCH',
            `the state dir ${this.dir} belongs to a run with other settings (${changed.join('; ')}); run with the same settings to resume it, or use another state dir (option stateDir)`,
          );
        }
      }
      if (header && opts.runId && opts.runId !== header.runId) {
        throw new GeminiBatchError('ERR_STATE_MISMATCH', `the state dir ${this.dir} belongs to run ${header.runId}, not ${opts.runId}`);
      }
      this.runId = header?.runId ?? opts.runId ?? `gb-${randomBytes(5).toString('hex')}`;
      this.fd = openSync(path, 'a+');
      ftruncateSync(this.fd, header ? s.validBytes : 0);
      if (!header) this.append({ t: 'run', v: VERSION, runId: this.runId, fingerprint: opts.fingerprint });
    } catch (err) {
      if (!this.borrowedLock) this.lock.release();
      throw err;
    }
  }

  get completed(): boolean {
    return this.state.completed;
  }

  get completion(): CompletionInfo | undefined {
    return this.state.completion;
  }

  get emittedSeq(): number {
    return this.state.emittedSeq;
  }

  get deliveredSeq(): number {
    return this.state.deliveredSeq;
  }

  /** The recorded settings that differ from `fingerprint`, as `k was x, now y`. */
  changedSettings(fingerprint: Record<string, unknown>): string[] {
    const was = this.state.fingerprint ?? {};
    return Object.keys({ ...was, ...fingerprint })
      .filter((k) => JSON.stringify(was[k]) !== JSON.stringify(fingerprint[k]))
      .map((k) => `${k} was ${JSON.stringify(was[k])}, now ${JSON.stringify(fingerprint[k])}`);
  }

  knownChunkEnd(index: number): number | undefined {
    const c = this.state.chunks.get(index);
    return c ? c.firstSeq + c.count : undefined;
  }

  get(index: number): ChunkRecord | undefined {
    return this.state.chunks.get(index);
  }

  unfinishedChunks(): ChunkRecord[] {
    return [...this.state.chunks.values()].filter((c) => c.resultsPath === undefined);
  }

  async chunkSpooled(chunk: Chunk): Promise<ChunkRecord> {
    const known = this.state.chunks.get(chunk.index);
    if (known) {
      if (known.sha256 !== chunk.sha256 || known.firstSeq !== chunk.firstSeq || known.count !== chunk.count) {
        throw new GeminiBatchError(
          'ERR_STATE_MISMATCH',
          `the input differs from the run recorded in ${this.dir} (chunk ${chunk.index}, records ${chunk.firstSeq}..${chunk.firstSeq + chunk.count - 1} changed); use another state dir (option stateDir) or delete it`,
        );
      }
      return known;
    }
    const e: Entry = { t: 'chunk', index: chunk.index, firstSeq: chunk.firstSeq, count: chunk.count, bytes: chunk.bytes, sha256: chunk.sha256 };
    this.record(e);
    return this.state.chunks.get(chunk.index)!;
  }

  async uploadStarted(index: number, uploadUrl: string): Promise<void> {
    this.record({ t: 'upload-start', index, uploadUrl });
  }
  async uploadFinished(index: number, fileName: string): Promise<void> {
    this.record({ t: 'upload-done', index, fileName });
  }
  async createIntended(index: number, displayName: string, webhookUrl?: string): Promise<void> {
    this.record(webhookUrl !== undefined ? { t: 'create-intent', index, displayName, webhookUrl } : { t: 'create-intent', index, displayName });
  }
  async batchCreated(index: number, displayName: string, name: string): Promise<void> {
    this.record({ t: 'created', index, displayName, name });
  }
  async batchTerminal(index: number, displayName: string, state: BatchState): Promise<void> {
    this.record({ t: 'terminal', index, displayName, state });
  }

  async chunkCancelled(index: number, detail: { uploadDeleted?: boolean; paid?: boolean } = {}): Promise<void> {
    this.giveUp(index, 'cancelled', detail.paid ?? false, detail.uploadDeleted ?? false);
  }

  async chunkLost(index: number, reason: 'batch-gone' | 'upload-gone', paid: boolean): Promise<void> {
    // A batch without its input file cannot be recreated from it: an upload that is gone goes with it.
    this.giveUp(index, reason, paid, reason === 'upload-gone');
  }

  private giveUp(index: number, reason: LostReason, paid: boolean, uploadGone: boolean): void {
    const c = this.state.chunks.get(index);
    // Results on local disk are safe: nothing on the service matters for this chunk any more.
    if (!c || c.resultsPath) return;
    this.record({ t: 'lost', index, reason, paid, uploadGone });
  }

  lostWork(): readonly LostWork[] {
    return this.state.lost;
  }

  async resultsDownloaded(index: number, path: string, failure?: ResultError): Promise<void> {
    const abs = resolve(path);
    const inside = abs.startsWith(this.dir + sep);
    const e: Entry = inside
      ? { t: 'results', index, path: relative(this.dir, abs), rel: true, ...(failure ? { failure } : {}) }
      : { t: 'results', index, path: abs, ...(failure ? { failure } : {}) };
    this.record(e);
  }
  async batchCost(cost: BatchCost): Promise<void> {
    this.record({ t: 'cost', ...cost });
  }
  costs(): readonly BatchCost[] {
    return [...this.state.costs.values()];
  }
  async budgetStopped(seq: number): Promise<void> {
    this.record({ t: 'budget-stop', seq });
  }
  get budgetStopSeq(): number | undefined {
    return this.state.budgetStopSeq;
  }
  async emitted(seqEnd: number): Promise<void> {
    if (seqEnd > this.state.emittedSeq) this.record({ t: 'emitted', seqEnd });
  }

  /** The run is over and its output is safe: record it, then drop the kept results files. */
  async complete(info?: CompletionInfo): Promise<void> {
    if (this.state.completed) return;
    // A caller may complete after the pipeline has closed the journal, once its own output is durable.
    const reopen = this.fd < 0;
    if (reopen) this.fd = openSync(this.path, 'a');
    try {
      this.record({ t: 'complete', ...(info ? { info } : {}) });
    } finally {
      if (reopen) {
        closeSync(this.fd);
        this.fd = -1;
      }
    }
    for (const f of readdirSync(this.resultsDir)) rmSync(join(this.resultsDir, f), { force: true });
  }

  async close(): Promise<void> {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    if (!this.borrowedLock) this.lock.release();
  }

  /** Append and fsync before returning: the caller acts on this record next. */
  private record(e: Entry): void {
    this.append(e);
    apply(this.state, this.dir, e);
  }

  private append(e: Entry): void {
    if (this.fd < 0) throw new GeminiBatchError('ERR_INTERNAL', 'journal used after close');
    writeSync(this.fd, JSON.stringify(e) + '\n');
    fdatasyncSync(this.fd);
  }
}

/**
 * Open (or create) the journal of state dir `dir`, taking its lock: a second
 * open of the same dir while this one is open throws ERR_STATE_LOCKED.
 */
export function openJournal(dir: string, opts: OpenJournalOptions): FileJournal {
  return new FileJournal(dir, opts);
}

/** Forget a run: only the files the journal keeps in `dir` are removed. */
export function resetJournal(dir: string): void {
  rmSync(join(dir, JOURNAL_FILE), { force: true });
  rmSync(join(dir, 'results'), { recursive: true, force: true });
}

/**
 * Start over in `dir` but keep the old journal for the record (batch names of
 * an abandoned run can still be looked up): it moves to
 * `archive/journal-<runId>-<time>.jsonl`. Returns the archived path, if any.
 */
export function archiveJournal(dir: string): string | undefined {
  const path = join(dir, JOURNAL_FILE);
  if (!existsSync(path)) {
    resetJournal(dir);
    return undefined;
  }
  const runId = readJournal(dir)?.runId ?? 'unknown';
  const archive = join(dir, 'archive');
  mkdirSync(archive, { recursive: true });
  const to = join(archive, `journal-${runId}-${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl`);
  renameSync(path, to);
  rmSync(join(dir, 'results'), { recursive: true, force: true });
  return to;
}
