/**
 * The project's file storage, seen from our side (issue 10, "Files").
 *
 * A project holds at most 20 GB of files; uploads over it fail. We keep the
 * bytes we uploaded and have not deleted yet under a budget by waiting before
 * the next upload until enough of ours are deleted. A batch's output file
 * (`files/batch-<36 chars>`, a 42-char id) cannot be fetched or deleted at
 * all: the service answers 400 to get and delete on ids over 40 chars, so we
 * never ask (api/names.ts canGetOrDeleteFile; files.delete skips them); those files expire on their own after 48 h and are not counted
 * here (we cannot free them, so waiting on them could only hang).
 */
import { ChangeSignal } from '../internal/concurrency/change-signal.js';
import { DEFAULT_STORAGE_BUDGET_BYTES } from '../options/survival.js';

/**
 * Bytes held on the service by our uploads, keyed by a name the caller picks
 * (the spool path before the upload, then anything stable). A holder that
 * asks for more than the whole budget still gets it when nothing else is
 * held: waiting could never help it.
 */
export class StorageBudget {
  private used = 0;
  private readonly held = new Map<string, number>();
  private readonly changes = new ChangeSignal();

  constructor(private budget: number = DEFAULT_STORAGE_BUDGET_BYTES) {}

  get budgetBytes(): number {
    return this.budget;
  }

  /** Bytes held now. */
  get usedBytes(): number {
    return this.used;
  }

  /** Wait until `bytes` more fit under the budget, then hold them under `key` (a second acquire of a held key is a no-op). */
  async acquire(key: string, bytes: number, signal?: AbortSignal): Promise<void> {
    if (this.held.has(key)) return;
    while (this.used > 0 && this.used + bytes > this.budget) await this.changes.wait(signal);
    this.used += bytes;
    this.held.set(key, bytes);
  }

  /** The bytes under `key` are gone from the service (deleted, or never uploaded). */
  release(key: string): void {
    const bytes = this.held.get(key);
    if (bytes === undefined) return;
    this.held.delete(key);
    this.used -= bytes;
    this.changes.notify();
  }

  /** Move a hold to a new key (e.g. from the spool path to the uploaded file's name). */
  rename(from: string, to: string): void {
    const bytes = this.held.get(from);
    if (bytes === undefined || from === to) return;
    this.held.delete(from);
    this.held.set(to, (this.held.get(to) ?? 0) + bytes);
  }
}
