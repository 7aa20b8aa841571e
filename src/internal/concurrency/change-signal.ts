/**
 * "Wait until something changed": every waiter is woken at each notify() and
 * re-checks its own condition (a budget freed bytes, a quota gave tokens
 * back). Unlike Slots it grants nothing; a waiter leaves on abort.
 */
export class ChangeSignal {
  private waiters: Array<() => void> = [];

  /** Resolves at the next notify(); rejects with the signal's reason on abort. */
  wait(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        this.waiters = this.waiters.filter((w) => w !== wake);
        reject(signal!.reason);
      };
      const wake = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(wake);
    });
  }

  notify(): void {
    const woken = this.waiters;
    this.waiters = [];
    for (const wake of woken) wake();
  }
}
