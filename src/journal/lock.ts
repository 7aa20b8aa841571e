/**
 * One run per state dir (DESIGN.md invariant 3): two processes resuming the
 * same journal would create every batch twice. The lock is a lease
 * (proper-lockfile: a directory made with mkdir, its mtime renewed every few
 * seconds by its holder). A lease not renewed for `staleMs` (30 s) is taken
 * over whatever its pid or host says: a run killed in a container that is
 * gone, a renamed host or a reused pid cannot hold it for ever. A holder of
 * this host and pid namespace that provably exited (its pid gone, or a zombie
 * its parent has not reaped) is taken over at once, so a `kill -9` and an
 * immediate rerun just works. Who holds it is written beside it (`lock.owner`)
 * for the refusal to name.
 */
import { randomBytes } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import lockfile from 'proper-lockfile';
import { GeminiBatchError } from '../errors.js';
import { isOwnerGone, pidNamespace } from './owner-gone.js';

/** The lease: a directory whose mtime its holder renews. */
export const LOCK_FILE = 'lock';
/** Who holds the lease (JSON), written after it is taken. */
export const OWNER_FILE = 'lock.owner';
/** A lease not renewed for this long is taken over. */
export const DEFAULT_LOCK_STALE_MS = 30_000;
/** proper-lockfile's floor: it renews at most every second, so less than 2 s would expire live holders. */
const MIN_STALE_MS = 2_000;

export interface LockOwner {
  pid: number;
  host: string;
  /** ISO time the owner took the lock. */
  startedAt: string;
  /** The owner's pid namespace (Linux): a pid is only checked within the same one. */
  pidns?: string;
}

export interface StateLockOptions {
  /** Take over a lease not renewed for this long (default 30 s; at least 2 s). The holder renews it every staleMs/6. */
  staleMs?: number;
  /**
   * Called once if the lease was lost while held (not renewed in time, e.g. a
   * suspended machine, and taken over or removed): the holder must stop writing.
   */
  onLost?: (err: Error) => void;
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
  /** Give the lease up (idempotent). */
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

/** How often a holder renews its lease. */
function renewEvery(staleMs: number): number {
  return Math.max(1_000, Math.floor(staleMs / 6));
}

/** A lease with no owner record that has not been renewed for two renewal periods. */
function ownerlessAndIdle(lockPath: string, renewMs: number): boolean {
  const at = renewedAt(lockPath);
  return at !== undefined && at < Date.now() - 2 * renewMs;
}

function readOwner(dir: string): LockOwner | undefined {
  try {
    const o = JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8')) as Partial<LockOwner>;
    if (typeof o.pid === 'number' && typeof o.host === 'string' && typeof o.startedAt === 'string') {
      return { pid: o.pid, host: o.host, startedAt: o.startedAt, ...(typeof o.pidns === 'string' ? { pidns: o.pidns } : {}) };
    }
  } catch {
    // None (taken a moment ago, or by a process killed before it wrote one) or torn: unknown owner.
  }
  return undefined;
}

export function describeOwner(o: LockOwner): string {
  return `process ${o.pid} on ${o.host} (since ${o.startedAt})`;
}

/** When the lease in `dir` was last renewed, or undefined when there is none. */
function renewedAt(lockPath: string): number | undefined {
  try {
    return statSync(lockPath).mtimeMs;
  } catch {
    return undefined;
  }
}

function refusal(abs: string, lockPath: string, staleMs: number, held: LockOwner | undefined): GeminiBatchError {
  const who = held ? describeOwner(held) : 'another process';
  const own = held?.pid === process.pid && held.host === hostname() ? ' (this same process: a run on this state dir is still open)' : '';
  const at = renewedAt(lockPath);
  const lease =
    at === undefined
      ? ''
      : `; its lease was last renewed at ${new Date(at).toISOString()} and is taken over if not renewed by ${new Date(at + staleMs).toISOString()}`;
  return new GeminiBatchError(
    'ERR_STATE_LOCKED',
    `the state dir ${abs} is in use by ${who}${own}${lease}; wait for that run to end or stop it, use another state dir, or, if that run is surely gone, remove the directory ${lockPath} to take the state dir at once`,
  );
}

/**
 * Take the lock of state dir `dir` (which must exist), or throw
 * ERR_STATE_LOCKED naming its owner, since when, and when it will be taken over.
 */
export function acquireStateLock(dir: string, opts: StateLockOptions = {}): StateLock {
  const abs = resolve(dir);
  const lockPath = join(abs, LOCK_FILE);
  const staleMs = Math.max(opts.staleMs ?? DEFAULT_LOCK_STALE_MS, MIN_STALE_MS);
  removeLeftovers(abs, staleMs);
  let lost = false;
  const take = () =>
    lockfile.lockSync(abs, {
      lockfilePath: lockPath,
      realpath: false,
      stale: staleMs,
      update: renewEvery(staleMs),
      onCompromised: (err: Error) => {
        if (lost) return;
        lost = true;
        opts.onLost?.(err);
      },
    });
  let unlock: () => void;
  try {
    unlock = take();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
    const held = readOwner(abs);
    // A holder known to have exited need not be waited for, nor one that never wrote who it
    // is and has missed two renewals since (it writes its record right after taking the
    // lease: a process killed in between). Two processes may both judge it so and both
    // remove it; the loser's lease then has a foreign mtime, which its renewal notices
    // (onLost) within staleMs/6.
    const gone = held ? isOwnerGone(held) : ownerlessAndIdle(lockPath, renewEvery(staleMs));
    if (!gone) throw refusal(abs, lockPath, staleMs, held);
    try {
      rmdirSync(lockPath);
      unlock = take();
    } catch (again) {
      if ((again as NodeJS.ErrnoException).code === 'ELOCKED' || (again as NodeJS.ErrnoException).code === 'ENOENT') {
        throw refusal(abs, lockPath, staleMs, readOwner(abs));
      }
      throw again;
    }
  }
  const owner: LockOwner = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  const ns = pidNamespace();
  if (ns) owner.pidns = ns;
  const ownerText = `${JSON.stringify(owner)}\n`;
  // Written aside and renamed: a reader sees the previous owner or this one, never half a file.
  const tmp = join(abs, `${OWNER_FILE}.${process.pid}-${randomBytes(4).toString('hex')}`);
  writeFileSync(tmp, ownerText);
  renameSync(tmp, join(abs, OWNER_FILE));

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
      // The lease first, then the owner record: a kill -9 between the two must not leave a lease
      // with no owner (an unknown owner is waited for until the lease is stale), while an owner
      // record with no lease is harmless (the next holder writes its own over it).
      if (!lost) {
        try {
          unlock();
        } catch {
          // Released or removed already: nothing of ours is left.
        }
      }
      // Only ours: a holder that took over (our lost lease, or the lock just released) keeps its own.
      try {
        if (readFileSync(join(abs, OWNER_FILE), 'utf8') === ownerText) rmSync(join(abs, OWNER_FILE), { force: true });
      } catch {
        // Gone already.
      }
    },
  };
  return lock;
}

/**
 * Owner records written aside by a process killed before its rename, and a
 * lock file of the versions before the lease (a plain file named `lock`).
 */
function removeLeftovers(dir: string, staleMs: number): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(`${OWNER_FILE}.`) && !/^lock\.(?:stale-)?\d+-[0-9a-f]+$/.test(name)) continue;
    try {
      if (statSync(join(dir, name)).mtimeMs < Date.now() - staleMs) rmSync(join(dir, name), { force: true });
    } catch {
      // Removed by someone else meanwhile.
    }
  }
  try {
    const old = lstatSync(join(dir, LOCK_FILE));
    // Never renewed by its writer: a lease by its age like any other.
    if (old.isFile() && old.mtimeMs < Date.now() - staleMs) rmSync(join(dir, LOCK_FILE), { force: true });
  } catch {
    // None.
  }
}
