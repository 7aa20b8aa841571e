/**
 * Where a run keeps its spool and results files while it runs.
 *
 * A `gemini-batch-*` dir with the owner's pid in it, under `<stateDir>/spool`
 * with a stateDir, else in the temp dir. A new run removes such dirs whose
 * owner process is gone, so a killed run's spool does not stay for ever (a
 * resume spools its input again and checks it against the journal, so an
 * old spool is of no use). A dir of its own per run, even under one state
 * dir: an earlier run of this process may still be unwinding its files.
 */
import { isProcessAlive } from '../internal/io/process-alive.js';
import { mkdtempSync, readFileSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { atStageBoundary } from '../errors.js';

import { makeDirs } from '../internal/io/make-dirs.js';

const PREFIX = 'gemini-batch-';
const OWNER_FILE = 'owner.pid';

export function openWorkDir(opts: { stateDir?: string; tmpDir: string }): string {
  try {
    const parent = opts.stateDir ? join(opts.stateDir, 'spool') : opts.tmpDir;
    if (opts.stateDir) makeDirs(parent);
    removeOrphans(parent);
    const dir = mkdtempSync(join(parent, PREFIX));
    writeFileSync(join(dir, OWNER_FILE), String(process.pid));
    return dir;
  } catch (err) {
    throw atStageBoundary(err, 'preparing the spool directory');
  }
}

/** Remove the work dir (spool files, downloaded results); best effort, never throws. */
export function removeWorkDir(dir: string, stateDir?: string): void {
  try {
    // A stage still unwinding may create a file while the tree goes (ENOTEMPTY): retried, then given up.
    rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
  } catch {
    // Left behind with its owner file: the next run sweeps it once this process is gone.
  }
  // The state dir keeps no empty spool folder once its last run is gone.
  if (stateDir) rmEmptyDir(join(stateDir, 'spool'));
}

function rmEmptyDir(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // not empty (another run of this process), or already gone
  }
}

/** Work dirs of runs whose process is gone. One without an owner file may be being made: left alone. */
function removeOrphans(tmpDir: string): void {
  let names: string[];
  try {
    names = readdirSync(tmpDir).filter((n) => n.startsWith(PREFIX));
  } catch {
    return;
  }
  for (const name of names) {
    const dir = join(tmpDir, name);
    let pid: number;
    try {
      pid = Number(readFileSync(join(dir, OWNER_FILE), 'utf8'));
    } catch {
      continue;
    }
    if (Number.isInteger(pid) && pid > 0 && !isProcessAlive(pid)) rmSync(dir, { recursive: true, force: true });
  }
}
