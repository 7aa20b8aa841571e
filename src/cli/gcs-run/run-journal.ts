/**
 * The journal of a run over Cloud Storage objects: append-only JSONL in the
 * state dir, fsynced before the step it records is taken (the create's
 * displayName and labels before the create is sent, the job's name before
 * it is waited for, an object done only once its ordered results are on
 * disk), replayed at start. A torn last line (kill -9 mid-write) is ignored.
 */
import { closeSync, existsSync, fdatasyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const GCS_JOURNAL_FILE = 'gcs-run.jsonl';

export interface ObjectEntry {
  name: string;
  size: number;
  generation?: string;
  crc32c?: string;
  md5Hash?: string;
}

export type Entry =
  | { t: 'run'; runId: string; input: string; model: string; output: string }
  | { t: 'objects'; bucket: string; objects: ObjectEntry[] }
  | { t: 'plan'; i: number; mode: 'as-is' | 'split'; lines?: number; why?: string }
  | { t: 'create-intent'; i: number; displayName: string; labels: { run: string; part: string } }
  | { t: 'created'; i: number; job: string }
  | { t: 'done'; i: number; lines: number; errors: number }
  | { t: 'out-upload'; url: string }
  | { t: 'complete' };

export interface ObjectState {
  plan?: { mode: 'as-is' | 'split'; lines?: number; why?: string };
  intent?: { displayName: string; labels: { run: string; part: string } };
  job?: string;
  done?: { lines: number; errors: number };
}

export interface GcsRunState {
  run?: Extract<Entry, { t: 'run' }>;
  bucket?: string;
  objects?: ObjectEntry[];
  perObject: Map<number, ObjectState>;
  outUploadUrl?: string;
  complete: boolean;
}

export function readGcsJournal(stateDir: string): GcsRunState | undefined {
  const path = join(stateDir, GCS_JOURNAL_FILE);
  if (!existsSync(path)) return undefined;
  const state: GcsRunState = { perObject: new Map(), complete: false };
  const of = (i: number) => {
    let s = state.perObject.get(i);
    if (!s) state.perObject.set(i, (s = {}));
    return s;
  };
  for (const text of readFileSync(path, 'utf8').split('\n')) {
    let e: Entry;
    try {
      e = JSON.parse(text) as Entry;
    } catch {
      continue; // a torn last line
    }
    switch (e.t) {
      case 'run':
        state.run = e;
        break;
      case 'objects':
        state.bucket = e.bucket;
        state.objects = e.objects;
        break;
      case 'plan':
        of(e.i).plan = { mode: e.mode, ...(e.lines !== undefined ? { lines: e.lines } : {}), ...(e.why ? { why: e.why } : {}) };
        break;
      case 'create-intent':
        of(e.i).intent = { displayName: e.displayName, labels: e.labels };
        break;
      case 'created':
        of(e.i).job = e.job;
        break;
      case 'done':
        of(e.i).done = { lines: e.lines, errors: e.errors };
        break;
      case 'out-upload':
        state.outUploadUrl = e.url;
        break;
      case 'complete':
        state.complete = true;
        break;
    }
  }
  return state;
}

export class GcsJournal {
  private readonly fd: number;

  constructor(stateDir: string) {
    this.fd = openSync(join(stateDir, GCS_JOURNAL_FILE), 'a');
    // A torn line from a kill ends here, so the next record starts on its own line.
    writeSync(this.fd, '\n');
  }

  /** Append and fsync: the caller acts on this record next. */
  append(e: Entry): void {
    writeSync(this.fd, `${JSON.stringify(e)}\n`);
    fdatasyncSync(this.fd);
  }

  close(): void {
    closeSync(this.fd);
  }
}
