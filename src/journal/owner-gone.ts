/**
 * Whether the process that wrote a lock's owner record is provably gone, so
 * its lease can be taken at once instead of after it expires. Only a process
 * of this host and this pid namespace can be checked; a zombie (killed, not
 * yet reaped by its parent: common where PID 1 does not reap) counts as gone.
 * Anything unsure answers false: the lease's expiry is the safety net.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { isProcessAlive } from '../internal/io/process-alive.js';

/** The pid namespace of this process (Linux), e.g. "pid:[4026531836]"; undefined elsewhere. */
export function pidNamespace(): string | undefined {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return undefined;
  }
}

/** 'Z' (zombie) or 'X' (dead) in /proc/<pid>/stat: exited, only its table entry remains. */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) S ...": comm may hold spaces and parentheses, the state follows the last ')'.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X';
  } catch {
    return false;
  }
}

export function isOwnerGone(owner: { pid: number; host: string; pidns?: string }): boolean {
  if (owner.host !== hostname() || owner.pid === process.pid) return false;
  // Same host name but another pid namespace (another container): its pids mean nothing here.
  const ns = pidNamespace();
  if ((owner.pidns ?? ns) !== ns) return false;
  return !isProcessAlive(owner.pid) || isZombie(owner.pid);
}
