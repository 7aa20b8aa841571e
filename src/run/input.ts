/**
 * The one way a run puts input on the service and takes it back: stage 3
 * (a chunk's spool) and stage 4 (a split half, a quota part, a retry set, a
 * chunk redone) both go through here. Putting waits for room under the run's
 * storage budget, then uploads through the backend and registers the input in
 * flight; releasing takes it off the registry (which frees its bytes in the
 * budget) and, when asked, removes it from the service. One owner, one
 * release.
 */
import type { BatchBackend, InputHooks } from '../backend/types.js';
import type { InFlight } from './in-flight.js';

export interface InputRun {
  backend: BatchBackend;
  inFlight: InFlight;
  signal?: AbortSignal;
}

/** Resolves with the input's reference (files/x, gs://…), registered in flight. */
export async function putInput(run: InputRun, spoolPath: string, bytes: number, name: string, hooks: Omit<InputHooks, 'signal'> = {}): Promise<string> {
  const budget = run.inFlight.storage;
  await budget.acquire(spoolPath, bytes, run.signal);
  let ref: string;
  try {
    ref = await run.backend.input.put(spoolPath, name, { ...hooks, signal: run.signal });
  } catch (err) {
    budget.release(spoolPath);
    throw err;
  }
  budget.rename(spoolPath, ref);
  run.inFlight.addFile(ref);
  return ref;
}

/**
 * Our input is no longer ours to hold: off the registry and out of the
 * budget; removed from the service too when `remove` (best effort: a
 * leftover expires on its own, or stays the user's with cleanupRemote off).
 */
export async function releaseInput(run: InputRun, ref: string, remove: boolean): Promise<void> {
  if (remove) await run.backend.input.remove(ref, run.signal).catch(() => undefined);
  run.inFlight.dropFile(ref);
}
