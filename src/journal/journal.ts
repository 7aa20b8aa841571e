/**
 * The run journal: an append-only JSONL file in the stateDir, fsynced at
 * every intent, replayed on open. It is what makes a rerun resume instead of
 * paying twice (DESIGN.md invariants 3 and 4). It never holds the API key:
 * only chunk facts, upload session URLs, file and batch names.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fdatasyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { BatchState } from '../api/types.js';
import { GeminiBatchError } from '../errors.js';
import type { Chunk, ResultError } from '../types.js';
import type { ChunkRecord, RunJournal } from './types.js';

export const JOURNAL_FILE = 'journal.jsonl';
const VERSION = 1;

type Entry =
  | { t: 'run'; v: number; runId: string; fingerprint: Record<string, unknown> }
  | { t: 'chunk'; index: number; firstSeq: number; count: number; bytes: number; sha256: string }
  | { t: 'upload-start'; index: number; uploadUrl: string }
  | { t: 'upload-done'; index: number; fileName: string }
  | { t: 'create-intent'; index: number; displayName: string }
  | { t: 'created'; index: number; displayName: string; name: string }
  | { t: 'terminal'; index: number; displayName: string; state: BatchState }
  | { t: 'results'; index: number; path: string; failure?: ResultError }
  | { t: 'emitted'; seqEnd: number }
  | { t: 'complete' };

export interface OpenJournalOptions {
  runId?: string;
  /** Settings that decide chunk boundaries and requests: a rerun must match them. */
  fingerprint: Record<string, unknown>;
}

export class FileJournal implements RunJournal {
  readonly runId: string;
  readonly resultsDir: string;
  private readonly chunks = new Map<number, ChunkRecord>();
  private fd: number;
  private readonly path: string;
  emittedSeq = 0;
  completed = false;

  constructor(
    private readonly dir: string,
    opts: OpenJournalOptions,
  ) {
    const path = join(dir, JOURNAL_FILE);
    this.path = path;
    this.resultsDir = join(dir, 'results');
    mkdirSync(this.resultsDir, { recursive: true });
    let header: Extract<Entry, { t: 'run' }> | undefined;
    let validBytes = 0;
    if (existsSync(path)) {
      const text = readFileSync(path, 'utf8');
      let pos = 0;
      while (pos < text.length) {
        const nl = text.indexOf('\n', pos);
        if (nl === -1) break; // a torn last line from a crash: dropped below
        const line = text.slice(pos, nl);
        pos = nl + 1;
        let e: Entry;
        try {
          e = JSON.parse(line) as Entry;
        } catch {
          break;
        }
        validBytes = Buffer.byteLength(text.slice(0, pos));
        if (e.t === 'run') header = e;
        else this.apply(e);
      }
    }
    if (header && !this.spentAnything() && JSON.stringify(opts.fingerprint) !== JSON.stringify(header.fingerprint)) {
      // Nothing was uploaded or created under the old settings (a run that
      // stopped on a bad line, say): there is nothing to resume, start afresh.
      header = undefined;
      validBytes = 0;
      this.chunks.clear();
      this.emittedSeq = 0;
    }
    if (header) {
      const changed = Object.keys({ ...header.fingerprint, ...opts.fingerprint })
        .filter((k) => JSON.stringify(header!.fingerprint[k]) !== JSON.stringify(opts.fingerprint[k]))
        .map((k) => `${k} was ${JSON.stringify(header!.fingerprint[k])}, now ${JSON.stringify(opts.fingerprint[k])}`);
      if (changed.length) {
        throw new GeminiBatchError(
          'ERR_STATE_MISMATCH',
          `the state dir ${dir} belongs to a run with other settings (${changed.join('; ')}); run with the same settings to resume it, or use another --state-dir`,
        );
      }
      if (opts.runId && opts.runId !== header.runId) {
        throw new GeminiBatchError('ERR_STATE_MISMATCH', `the state dir ${dir} belongs to run ${header.runId}, not ${opts.runId}`);
      }
      this.runId = header.runId;
    } else {
      this.runId = opts.runId ?? `gb-${randomBytes(5).toString('hex')}`;
    }
    this.fd = openSync(path, 'a+');
    if (existsSync(path)) ftruncateSync(this.fd, validBytes);
    if (!header) this.append({ t: 'run', v: VERSION, runId: this.runId, fingerprint: opts.fingerprint });
  }

  /** Whether the recorded run started an upload or a batch: only then is there money at stake. */
  private spentAnything(): boolean {
    for (const c of this.chunks.values()) if (c.uploadUrl || c.fileName || Object.keys(c.batches).length) return true;
    return false;
  }

  knownChunkEnd(index: number): number | undefined {
    const c = this.chunks.get(index);
    return c ? c.firstSeq + c.count : undefined;
  }

  get(index: number): ChunkRecord | undefined {
    return this.chunks.get(index);
  }

  async chunkSpooled(chunk: Chunk): Promise<ChunkRecord> {
    const known = this.chunks.get(chunk.index);
    if (known) {
      if (known.sha256 !== chunk.sha256 || known.firstSeq !== chunk.firstSeq || known.count !== chunk.count) {
        throw new GeminiBatchError(
          'ERR_STATE_MISMATCH',
          `the input differs from the run recorded in ${this.dir} (chunk ${chunk.index}, records ${chunk.firstSeq}..${chunk.firstSeq + chunk.count - 1} changed); use another --state-dir or delete it`,
        );
      }
      return known;
    }
    const e: Entry = { t: 'chunk', index: chunk.index, firstSeq: chunk.firstSeq, count: chunk.count, bytes: chunk.bytes, sha256: chunk.sha256 };
    this.record(e);
    return this.chunks.get(chunk.index)!;
  }

  async uploadStarted(index: number, uploadUrl: string): Promise<void> {
    this.record({ t: 'upload-start', index, uploadUrl });
  }
  async uploadFinished(index: number, fileName: string): Promise<void> {
    this.record({ t: 'upload-done', index, fileName });
  }
  async createIntended(index: number, displayName: string): Promise<void> {
    this.record({ t: 'create-intent', index, displayName });
  }
  async batchCreated(index: number, displayName: string, name: string): Promise<void> {
    this.record({ t: 'created', index, displayName, name });
  }
  async batchTerminal(index: number, displayName: string, state: BatchState): Promise<void> {
    this.record({ t: 'terminal', index, displayName, state });
  }
  async resultsDownloaded(index: number, path: string, failure?: ResultError): Promise<void> {
    this.record({ t: 'results', index, path, ...(failure ? { failure } : {}) });
  }
  async emitted(seqEnd: number): Promise<void> {
    if (seqEnd > this.emittedSeq) this.record({ t: 'emitted', seqEnd });
  }

  /** The run is over and its output is safe: drop the kept results files. */
  async complete(): Promise<void> {
    if (this.completed) return;
    // The CLI completes after the pipeline has closed the journal, once its own output is durable.
    const reopen = this.fd < 0;
    if (reopen) this.fd = openSync(this.path, 'a');
    try {
      this.record({ t: 'complete' });
    } finally {
      if (reopen) void this.close();
    }
    for (const f of readdirSync(this.resultsDir)) rmSync(join(this.resultsDir, f), { force: true });
  }

  async close(): Promise<void> {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  /** Append and fsync before returning: the caller acts on this record next. */
  private record(e: Entry): void {
    this.append(e);
    this.apply(e);
  }

  private append(e: Entry): void {
    if (this.fd < 0) throw new GeminiBatchError('ERR_INTERNAL', 'journal used after close');
    writeSync(this.fd, JSON.stringify(e) + '\n');
    fdatasyncSync(this.fd);
  }

  private apply(e: Entry): void {
    switch (e.t) {
      case 'run':
        return;
      case 'chunk':
        this.chunks.set(e.index, { index: e.index, firstSeq: e.firstSeq, count: e.count, bytes: e.bytes, sha256: e.sha256, batches: {}, terminal: {} });
        return;
      case 'emitted':
        this.emittedSeq = Math.max(this.emittedSeq, e.seqEnd);
        return;
      case 'complete':
        this.completed = true;
        return;
    }
    const c = this.chunks.get(e.index);
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
        break;
      case 'created':
        c.batches[e.displayName] = e.name;
        break;
      case 'terminal':
        c.terminal[e.displayName] = e.state;
        break;
      case 'results':
        c.resultsPath = e.path;
        c.failure = e.failure;
        break;
    }
  }
}

export function openJournal(dir: string, opts: OpenJournalOptions): FileJournal {
  return new FileJournal(dir, opts);
}

/** True when the journal in `dir` records a finished run (its output is whole). */
export function journalCompleted(dir: string): boolean {
  const path = join(dir, JOURNAL_FILE);
  if (!existsSync(path)) return false;
  return readFileSync(path, 'utf8').split('\n').some((l) => l === '{"t":"complete"}');
}

/** Forget a run: only the files the journal keeps in `dir` are removed. */
export function resetJournal(dir: string): void {
  rmSync(join(dir, JOURNAL_FILE), { force: true });
  rmSync(join(dir, 'results'), { recursive: true, force: true });
}
