/**
 * The journal on its own: one run per state dir (a lock naming its owner,
 * stale locks of dead processes taken over), paths that survive a change of
 * cwd, a completed run recognised, and chunks given up on the service
 * (cancelled, lost) redone under a new attempt.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { archiveJournal, chunkPart, openJournal, readJournal } from '../src/journal/journal.js';
import { acquireStateLock, LOCK_FILE, OWNER_FILE } from '../src/journal/lock.js';
import type { Chunk } from '../src/types.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const newDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'gb-journal-'));
  dirs.push(d);
  return d;
};
const fp = { model: 'm', mode: 'file' };

function chunk(index: number, firstSeq: number, count: number): Chunk {
  return { index, firstSeq, count, bytes: count * 10, sha256: createHash('sha256').update(`${index}`).digest('hex'), spoolPath: '/nonexistent', lineCount: count, mode: 'file' } as unknown as Chunk;
}

/** A child process that takes the lock of `dir`, says so, and waits. */
function lockingChild(dir: string, staleMs?: number): Promise<{ pid: number; kill: (s: NodeJS.Signals) => Promise<void> }> {
  const script = `import { acquireStateLock } from ${JSON.stringify(join(import.meta.dirname, '../src/journal/lock.ts'))};
acquireStateLock(${JSON.stringify(dir)}, ${JSON.stringify(staleMs === undefined ? {} : { staleMs })}); process.stdout.write('locked\\n'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', () => resolve({ pid: child.pid!, kill: async (s) => { child.kill(s); await exited; } }));
    child.once('error', reject);
    child.once('exit', (c) => reject(new Error(`child exited ${c}`)));
  });
}

describe('journal: one run per state dir', () => {
  it('a second open of the same dir refuses at once, naming the owner; close releases it', async () => {
    const dir = newDir();
    const a = openJournal(dir, { fingerprint: fp });
    expect(() => openJournal(dir, { fingerprint: fp })).toThrow(expect.objectContaining({ code: 'ERR_STATE_LOCKED' }));
    try {
      openJournal(dir, { fingerprint: fp });
    } catch (err) {
      expect((err as Error).message).toContain(`process ${process.pid} on ${hostname()}`);
      expect((err as Error).message.split('. ').length).toBe(1);
    }
    await a.close();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    const b = openJournal(dir, { fingerprint: fp });
    expect(b.runId).toBe(a.runId);
    await b.close();
  });

  it('a lock held by another live process refuses; once that process is killed (-9) its stale lock is taken over', async () => {
    const dir = newDir();
    const child = await lockingChild(dir);
    try {
      expect(() => openJournal(dir, { fingerprint: fp })).toThrow(new RegExp(`in use by process ${child.pid} on `));
    } finally {
      await child.kill('SIGKILL');
    }
    expect(existsSync(join(dir, LOCK_FILE))).toBe(true); // left behind by the kill
    const j = openJournal(dir, { fingerprint: fp });
    const owner = JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8')) as { pid: number };
    expect(owner.pid).toBe(process.pid);
    await j.close();
  });

  it('owner records left by a process killed while writing one are removed once older than the lease', () => {
    const dir = newDir();
    const old = new Date(Date.now() - 60_000);
    writeFileSync(join(dir, `${OWNER_FILE}.999999-abcd1234`), '{}');
    utimesSync(join(dir, `${OWNER_FILE}.999999-abcd1234`), old, old);
    const lock = acquireStateLock(dir);
    expect(readdirSync(dir).sort()).toEqual([LOCK_FILE, OWNER_FILE]);
    lock.release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a lease of another host is refused while fresh and taken over once not renewed for staleMs, naming owner, renewal and how to break it', () => {
    const dir = newDir();
    mkdirSync(join(dir, LOCK_FILE));
    writeFileSync(join(dir, OWNER_FILE), JSON.stringify({ pid: 999999, host: 'elsewhere.example', startedAt: '2026-01-01T00:00:00Z' }));
    let message = '';
    try {
      acquireStateLock(dir, { staleMs: 2_000 });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/in use by process 999999 on elsewhere\.example \(since 2026-01-01T00:00:00Z\)/);
    expect(message).toMatch(/last renewed at \S+ and is taken over if not renewed by \S+/);
    expect(message).toContain(`remove the directory ${join(dir, LOCK_FILE)}`);
    expect(message).not.toMatch(/--/); // a library error names no CLI flag
    const old = new Date(Date.now() - 3_000);
    utimesSync(join(dir, LOCK_FILE), old, old);
    const lock = acquireStateLock(dir, { staleMs: 2_000 });
    expect(JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8'))).toMatchObject({ pid: process.pid, host: hostname() });
    lock.release();
  });

  it('a lease whose taker was killed before it wrote who it is is taken over once it missed two renewals, not at once', () => {
    const dir = newDir();
    mkdirSync(join(dir, LOCK_FILE));
    // Just taken (no owner yet): a live taker is about to write its record.
    expect(() => acquireStateLock(dir, { staleMs: 30_000 })).toThrow(/in use by another process/);
    // Not renewed for two of its renewal periods (5 s each at 30 s): its taker is gone.
    const old = new Date(Date.now() - 11_000);
    utimesSync(join(dir, LOCK_FILE), old, old);
    const lock = acquireStateLock(dir, { staleMs: 30_000 });
    expect(JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8'))).toMatchObject({ pid: process.pid });
    lock.release();
    // Released: the lease first, then the record.
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    expect(existsSync(join(dir, OWNER_FILE))).toBe(false);
  });

  it('the holder renews its lease, so a live holder is never taken over however long it runs', async () => {
    const dir = newDir();
    const child = await lockingChild(dir, 2_000);
    try {
      await new Promise((r) => setTimeout(r, 3_500));
      expect(() => acquireStateLock(dir, { staleMs: 2_000 })).toThrow(new RegExp(`in use by process ${child.pid} on `));
    } finally {
      await child.kill('SIGKILL');
    }
  });

  it('a lent lock is used by the next open and kept by its holder after close', async () => {
    const dir = newDir();
    const lock = acquireStateLock(dir);
    lock.lend();
    const j = openJournal(dir, { fingerprint: fp });
    await j.close();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(true);
    expect(() => openJournal(dir, { fingerprint: fp })).toThrow(/in use/);
    lock.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  });
});

describe('journal: paths survive a change of cwd', () => {
  it('results paths are stored relative to the state dir and resolve to absolute ones', async () => {
    const base = newDir();
    const cwd = process.cwd();
    let resultsPath: string;
    process.chdir(base);
    try {
      const j = openJournal('state', { fingerprint: fp });
      expect(j.dir).toBe(join(base, 'state'));
      await j.chunkSpooled(chunk(0, 0, 5));
      resultsPath = join(j.resultsDir, 'results-0.jsonl');
      await j.resultsDownloaded(0, resultsPath);
      await j.close();
    } finally {
      process.chdir(cwd);
    }
    const text = readFileSync(join(base, 'state', 'journal.jsonl'), 'utf8');
    expect(text).not.toContain(base);
    const again = openJournal(join(base, 'state'), { fingerprint: fp });
    expect(again.get(0)?.resultsPath).toBe(resultsPath);
    await again.close();
  });

  it('an old journal with a cwd-relative results path still finds its file in results/', async () => {
    const dir = newDir();
    const rel = relative(process.cwd(), join(dir, 'results', 'results-0.jsonl'));
    const old = [
      { t: 'run', v: 1, runId: 'gb-old', fingerprint: fp },
      { t: 'chunk', index: 0, firstSeq: 0, count: 5, bytes: 50, sha256: 'x' },
      { t: 'results', index: 0, path: `some/other/cwd/${rel.split('/').slice(-2).join('/')}` },
    ];
    writeFileSync(join(dir, 'journal.jsonl'), old.map((e) => JSON.stringify(e)).join('\n') + '\n');
    const j = openJournal(dir, { fingerprint: fp });
    expect(j.runId).toBe('gb-old');
    expect(j.get(0)?.resultsPath).toBe(join(dir, 'results', 'results-0.jsonl'));
    await j.close();
  });
});

describe('journal: completion', () => {
  it('records what the caller says about its output; a reopen sees a completed run; archive starts over', async () => {
    const dir = newDir();
    const j = openJournal(dir, { fingerprint: fp });
    await j.chunkSpooled(chunk(0, 0, 5));
    mkdirSync(j.resultsDir, { recursive: true });
    writeFileSync(join(j.resultsDir, 'results-0.jsonl'), 'x\n');
    await j.close();
    // The CLI completes after the pipeline closed the journal.
    await j.complete({ output: { bytes: 12, sha256: 'ab' } });
    expect(readdirSync(join(dir, 'results'))).toEqual([]);
    const again = openJournal(dir, { fingerprint: { ...fp, model: 'other' } });
    expect(again.completed).toBe(true);
    expect(again.completion).toEqual({ output: { bytes: 12, sha256: 'ab' } });
    await again.close();
    expect(readJournal(dir)?.completed).toBe(true);
    const archived = archiveJournal(dir);
    expect(archived).toMatch(new RegExp(`archive/journal-${j.runId}-`));
    expect(readJournal(dir)).toBeUndefined();
    const fresh = openJournal(dir, { fingerprint: fp });
    expect(fresh.runId).not.toBe(j.runId);
    expect(fresh.completed).toBe(false);
    await fresh.close();
  });
});

describe('journal: chunks given up on the service are redone', () => {
  it('a cancelled chunk gets attempt 1, no batches, and its deleted upload forgotten; done chunks are untouched', async () => {
    const dir = newDir();
    const j = openJournal(dir, { fingerprint: fp });
    for (const i of [0, 1, 2]) {
      await j.chunkSpooled(chunk(i, i * 5, 5));
      await j.uploadStarted(i, `http://u/${i}`);
      await j.uploadFinished(i, `files/${i}`);
      await j.createIntended(i, `${j.runId}-${i}`);
      await j.batchCreated(i, `${j.runId}-${i}`, `batches/${i}`);
    }
    await j.resultsDownloaded(0, join(j.resultsDir, 'results-0.jsonl'));
    await j.chunkCancelled(0, { uploadDeleted: true }); // too late: its results are safe
    await j.chunkCancelled(1, { uploadDeleted: true });
    await j.chunkCancelled(2); // upload kept (cleanup off): reused
    await j.close();

    const r = openJournal(dir, { fingerprint: fp });
    expect(r.get(0)).toMatchObject({ attempt: 0, fileName: 'files/0', batches: { [`${j.runId}-0`]: 'batches/0' } });
    expect(r.get(1)).toMatchObject({ attempt: 1, batches: {}, terminal: {} });
    expect(r.get(1)?.fileName).toBeUndefined();
    expect(r.get(1)?.uploadUrl).toBeUndefined();
    expect(r.get(2)).toMatchObject({ attempt: 1, fileName: 'files/2', batches: {} });
    expect(chunkPart(1, r.get(1)!.attempt)).toBe('1-a1');
    expect(chunkPart(1, 0)).toBe('1');
    expect(r.lostWork().map((l) => [l.index, l.reason, l.attempt])).toEqual([
      [1, 'cancelled', 0],
      [2, 'cancelled', 0],
    ]);
    // The redo is recorded under its new name, and lost again: attempt 2, paid work reported.
    await r.createIntended(1, `${r.runId}-1-a1`);
    await r.batchCreated(1, `${r.runId}-1-a1`, 'batches/1b');
    await r.chunkLost(1, 'batch-gone', true);
    expect(r.get(1)).toMatchObject({ attempt: 2, batches: {} });
    expect(r.lostWork().filter((l) => l.paid)).toEqual([{ index: 1, reason: 'batch-gone', paid: true, attempt: 1 }]);
    await r.chunkLost(2, 'upload-gone', false);
    expect(r.get(2)?.fileName).toBeUndefined();
    await r.close();
  });
});
