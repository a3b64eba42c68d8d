import { AbortedError } from '../errors';

export type Release = () => void;

/**
 * Per-key locks that never queue: a call that finds its object busy answers ABORTED and the sidecar retries (CSI spec,
 * "Concurrency": an operation pending for the same volume may return ABORTED). Acquisition is synchronous so there is
 * no `await` between checking a key and taking it.
 */
export class KeyedLocks {
  private readonly held = new Set<string>();

  tryAcquire(keys: readonly string[], what: string): Release {
    const unique = [...new Set(keys)];
    const busy = unique.find((k) => this.held.has(k));
    if (busy !== undefined) throw new AbortedError(`an operation on ${what} is already in progress`);
    for (const k of unique) this.held.add(k);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const k of unique) this.held.delete(k);
    };
  }

  /** Runs `fn` holding the keys, releasing them however it ends. */
  async with<T>(keys: readonly string[], what: string, fn: () => Promise<T>): Promise<T> {
    const release = this.tryAcquire(keys, what);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  isHeld(key: string): boolean {
    return this.held.has(key);
  }
}
