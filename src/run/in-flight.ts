/**
 * The one registry of what a run has on the service and not yet finished
 * with: uploaded files whose chunk is not done, batches created and not yet
 * terminal. Stages add and drop names; cancelOnAbort cancels and deletes
 * whatever is still listed. It stays bounded: a name leaves once its chunk
 * is done (files kept with cleanupRemote off are the user's then).
 */
import type { GeminiClient } from '../api/types.js';
import { StorageBudget } from '../stages/batch-submitter/storage-budget.js';

export class InFlight {
  private readonly fileNames = new Set<string>();
  private readonly batchNames = new Set<string>();
  /**
   * Bytes our uploads hold on the service, kept under storageBudgetBytes:
   * uploads wait for room (uploadWithinBudget); a file leaves it when it
   * leaves this registry (deleted, or the user's once its chunk is done).
   */
  readonly storage = new StorageBudget();

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

  /** Stop paying for batches nobody will read and remove our uploads; best effort, never throws. */
  async cancelAll(client: GeminiClient): Promise<void> {
    const jobs = this.batches().map((b) => client.batches.cancel(b).catch(() => undefined));
    const files = this.files().map((f) => client.files.delete(f).catch(() => undefined));
    await Promise.all([...jobs, ...files]);
  }
}
