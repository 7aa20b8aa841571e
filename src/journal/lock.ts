/**
 * One run per state dir (DESIGN.md invariant 3): two processes resuming the
 * same journal would create every batch twice. The lock is a file created
 * with O_EXCL semantics (written aside, then hard-linked into place, so it is
 * never seen half-written) naming its owner; a lock whose owner process is
 * gone (same host, pid not alive) is stale and taken over.
 */
import { isProcessAlive } from '../internal/io/process-alive.js';
import { randomBytes } from 'node:crypto';
import { linkSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { GeminiBatchError } from '../errors.js';

export const LOCK_FILE = 'lock';

export interface LockOwner {
  pid: number;
  host: string;
  /** ISO time the owner took the lock. */
  startedAt: string;
}

export interface StateLock {
  readonly dir: string;
  readonly owner: LockOwner;
  /**
   * Let the next openJournal() of this dir in this process use this lock
   * instead of taking its own (the CLI holds the lock from before it touches
   * OUT until after it completes the journal). The journal then leaves the
   * release to this lock's holder.
   */
  lend(): void;
  /** Remove the lock file (idempotent). */
  release(): void;
}

/** Locks lent to the next openJournal() of their dir, by absolute dir. */
const lent = new Map<string, StateLock>();

/** Take a lock lent for `dir` by this process, if any (used by openJournal). */
export function borrowStateLock(dir: string): StateLock | undefined {
  const abs = resolve(dir);
  const lock = lent.get(abs);
  if (lock) lent.delete(abs);
  return lock;
}

function readOwner(path: string): LockOwner | undefined {
  try {
    const o = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockOwner>;
    if (typeof o.pid === 'number' && typeof o.host === 'string' && typeof o.startedAt === 'string') {
      return { pid: o.pid, host: o.host, startedAt: o.startedAt };
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw err;
  }
  return undefined;
}

/** A lock is stale when its owner is a process of this host that no longer runs. */
function isStale(owner: LockOwner | undefined): boolean {
  if (!owner) return true; // unreadable: never written by us (we link whole files)
  return owner.host === hostname() && owner.pid !== process.pid && !isProcessAlive(owner.pid);
}

export function describeOwner(o: LockOwner): string {
  return `process ${o.pid} on ${o.host} (since ${o.startedAt})`;
}

/**
 * Take the lock of state dir `dir` (which must exist), or throw
 * ERR_STATE_LOCKED naming its owner.
 */
export function acquireStateLock(dir: string): StateLock {
  const abs = resolve(dir);
  const path = join(abs, LOCK_FILE);
  removeLeftovers(abs);
  const owner: LockOwner = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  const tmp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, `${JSON.stringify(owner)}\n`);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(tmp, path);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      let held: LockOwner | undefined;
      try {
        held = readOwner(path);
      } catch {
        continue; // released between our link and our read: try again
      }
      if (attempt >= 3 || !isStale(held)) {
        const who = held ? describeOwner(held) : 'another process';
        const own = held?.pid === process.pid && held.host === owner.host ? ' (this same process: a run on this state dir is still open)' : '';
        throw new GeminiBatchError(
          'ERR_STATE_LOCKED',
          `the state dir ${abs} is in use by ${who}${own}; wait for that run to end or stop it, or use another --state-dir`,
        );
      }
      takeOverStale(path, held);
    }
  } finally {
    rmSync(tmp, { force: true });
  }
  let released = false;
  const lock: StateLock = {
    dir: abs,
    owner,
    lend() {
      lent.set(abs, lock);
    },
    release() {
      if (lent.get(abs) === lock) lent.delete(abs);
      if (released) return;
      released = true;
      // Only our own lock file: a takeover by someone else after a stale judgement must survive.
      const now = (() => {
        try {
          return readOwner(path);
        } catch {
          return undefined;
        }
      })();
      if (now && now.pid === owner.pid && now.host === owner.host && now.startedAt === owner.startedAt) rmSync(path, { force: true });
    },
  };
  return lock;
}

/** `lock.<pid>-<hex>` / `lock.stale-<pid>-<hex>` files of processes killed mid-acquire. */
function removeLeftovers(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^lock\.(?:stale-)?(\d+)-[0-9a-f]+$/.exec(name);
    if (m && Number(m[1]) !== process.pid && !isProcessAlive(Number(m[1]))) rmSync(join(dir, name), { force: true });
  }
}

/**
 * Move a stale lock aside atomically. Two processes may both judge it stale;
 * only one rename gets the stale file. If what we moved turns out to be a
 * fresh lock (the other process already took over), put it back.
 */
function takeOverStale(path: string, stale: LockOwner | undefined): void {
  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    renameSync(path, aside);
  } catch {
    return; // gone already: the next link attempt decides
  }
  let moved: LockOwner | undefined;
  try {
    moved = readOwner(aside);
  } catch {
    moved = undefined;
  }
  if (stale && moved && JSON.stringify(moved) !== JSON.stringify(stale)) {
    try {
      linkSync(aside, path);
    } catch {
      // Someone holds it now anyway.
    }
  }
  rmSync(aside, { force: true });
}
