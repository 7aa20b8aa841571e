/**
 * Before a resume: ask the service whether the work the journal points at
 * still exists. A batch cancelled by cancel-on-abort, or a batch or upload the
 * service no longer has (expired after 48 h, deleted by hand: 404), would
 * otherwise fail the resume the same way for ever. Each such chunk is recorded in the journal as given
 * up, so the stages upload and create it again under a new attempt name.
 *
 * Only chunks without local results are looked at (a handful: bounded by the
 * jobs in flight when the earlier run stopped); one GET each.
 */
import type { BatchBackend, BatchJob } from '../backend/types.js';
import type { ChunkRecord, RunJournal } from './types.js';

export interface ReconcileReport {
  /** Chunks whose batch was found cancelled: redone. */
  cancelled: number[];
  /** Chunks whose batch, results or upload the service no longer has: redone. */
  lost: number[];
  /** Of those, chunks whose batch had been recorded SUCCEEDED: paid work lost. */
  paidLost: number[];
}

type Service = Pick<BatchBackend, 'jobs' | 'input'>;

function isNotFound(err: unknown): boolean {
  return (err as { httpStatus?: unknown } | null)?.httpStatus === 404;
}

/** The operation, or undefined when the service says 404; other errors propagate. */
async function lookup<T>(get: () => Promise<T>): Promise<T | undefined> {
  try {
    return await get();
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}


async function reconcileChunk(journal: RunJournal, c: ChunkRecord, client: Service, report: ReconcileReport, signal?: AbortSignal): Promise<void> {
  let live = false;
  for (const [displayName, name] of Object.entries(c.batches)) {
    if (!name) continue; // only intended: the stage adopts it by displayName or creates it
    const op: BatchJob | undefined = await lookup(() => client.jobs.get(name, signal));
    const succeededBefore = c.terminal[displayName] === 'SUCCEEDED';
    if (!op) {
      await journal.chunkLost(c.index, 'batch-gone', succeededBefore);
      report.lost.push(c.index);
      if (succeededBefore) report.paidLost.push(c.index);
      return;
    }
    if (op.state === 'CANCELLED' && !op.hasOutput) {
      const uploadGone = c.fileName !== undefined && !(await client.input.exists(c.fileName, signal));
      await journal.chunkCancelled(c.index, { uploadDeleted: uploadGone });
      report.cancelled.push(c.index);
      return;
    }
    // A succeeded batch's results file cannot be asked about (the service refuses files.get for
    // output ids, PROTOCOL.md): a download that finds it gone is the stage's to handle.
    live = true;
  }
  // No batch to re-attach to: the next create needs the upload, which must still be there.
  if (!live && c.fileName !== undefined && !(await client.input.exists(c.fileName, signal))) {
    await journal.chunkLost(c.index, 'upload-gone', false);
    report.lost.push(c.index);
  }
}

export async function reconcileWithService(journal: RunJournal, client: Service, signal?: AbortSignal): Promise<ReconcileReport> {
  const report: ReconcileReport = { cancelled: [], lost: [], paidLost: [] };
  for (const c of journal.unfinishedChunks()) await reconcileChunk(journal, c, client, report, signal);
  return report;
}
