/**
 * The one registry of what a run has on the service and not yet finished
 * with: uploaded files whose chunk is not done, batches created and not yet
 * terminal. Stages add and drop names; cancelOnAbort cancels and deletes
 * whatever is still listed. It stays bounded: a name leaves once its chunk
 * is done (files kept with cleanupRemote off are the user's then).
 */
import type { BatchBackend } from '../backend/types.js';
import type { RunJournal } from '../journal/types.js';
import { StorageBudget } from './storage-budget.js';

export class InFlight {
  private readonly fileNames = new Set<string>();
  private readonly batchNames = new Set<string>();
  /**
   * Bytes our uploads hold on the service, kept under storageBudgetBytes:
   * uploads wait for room (putInput, input.ts); a file leaves it when it
   * leaves this registry (deleted, or the user's once its chunk is done).
   */
  readonly storage: StorageBudget;
  private journal: RunJournal | undefined;

  constructor(storageBudgetBytes?: number) {
    this.storage = new StorageBudget(storageBudgetBytes);
  }

  addFile(name: string): void {
    this.fileNames.add(name);
  }

  dropFile(name: string): void {
    this.fileNames.delete(name);
    this.storage.release(name);
  }

  addBatch(name: string): void {
    this.batchNames.add(name);
  }

  dropBatch(name: string): void {
    this.batchNames.delete(name);
  }

  files(): string[] {
    return [...this.fileNames];
  }

  batches(): string[] {
    return [...this.batchNames];
  }

  /** The run's journal: cancelAll records there which chunks it gave up, so a rerun redoes them. */
  attachJournal(journal: RunJournal | undefined): void {
    this.journal ??= journal;
  }

  /** Stop paying for batches nobody will read and remove our uploads; best effort, never throws. */
  async cancelAll(backend: BatchBackend): Promise<void> {
    // Recorded first, synchronously (the journal closes right after): a rerun of the same
    // command must upload and create these chunks again under new names, not adopt
    // cancelled batches nor create from deleted files (issue 11).
    this.recordCancelled();
    const jobs = this.batches().map((b) => backend.jobs.cancel(b).catch(() => undefined));
    const files = this.files().map((f) => backend.input.remove(f).catch(() => undefined));
    await Promise.all([...jobs, ...files]);
  }

  /** Chunks (dense indexes from 0 in the journal) that have a batch or upload of ours listed here. */
  private recordCancelled(): void {
    const journal = this.journal;
    if (!journal || (this.batchNames.size === 0 && this.fileNames.size === 0)) return;
    for (let i = 0; ; i++) {
      const c = journal.get(i);
      if (!c) break;
      if (c.resultsPath) continue;
      const batch = Object.values(c.batches).some((b) => b !== '' && this.batchNames.has(b));
      const upload = c.fileName !== undefined && this.fileNames.has(c.fileName);
      if (batch || upload) journal.chunkCancelled(i, { uploadDeleted: upload }).catch(() => undefined);
    }
  }
}
