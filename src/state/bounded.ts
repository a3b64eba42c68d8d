import type { Logger } from '../log';

/** How many start-up steps run at once: enough to keep libuv's 4 pool threads busy, few enough to bound memory. */
export const START_UP_CONCURRENCY = 32;

const PROGRESS_EVERY_MS = 1000;
const YIELD_EVERY = 64;

export interface BoundedOptions {
  limit?: number;
  /** With `what`, a line every second while the run lasts ("start-up progress", done/total). */
  log?: Logger;
  what?: string;
}

/**
 * Runs `fn` on every item with at most `limit` in flight: start-up reconciliation of thousands of volumes must not be
 * one file read or stat after another (the 10,000-volume start-up of issue 15), nor all at once. Each item is its
 * own volume or record, so the order of completion does not matter. On the first failure no new item starts, the
 * ones in flight finish, and that first error is thrown: the same outcome as the sequential loop it replaces.
 */
export async function forEachBounded<T>(items: readonly T[], fn: (item: T) => Promise<void>, options: BoundedOptions = {}): Promise<void> {
  const limit = Math.max(1, options.limit ?? START_UP_CONCURRENCY);
  let next = 0;
  let done = 0;
  let failure: { err: unknown } | null = null;
  const progress = options.log && options.what ? setInterval(() => options.log!.info({ done, total: items.length }, `start-up progress: ${options.what}`), PROGRESS_EVERY_MS) : null;
  progress?.unref();
  const worker = async (): Promise<void> => {
    while (failure === null && next < items.length) {
      // Work that finishes without I/O (a synchronous read at start-up) would otherwise run in microtasks only and
      // starve the event loop: every YIELD_EVERY items, let it poll, so Probe answers meanwhile.
      if (next > 0 && next % YIELD_EVERY === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      if (failure !== null || next >= items.length) break;
      const item = items[next++]!;
      try {
        await fn(item);
        done++;
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  } finally {
    if (progress) clearInterval(progress);
  }
  if (failure !== null) throw (failure as { err: unknown }).err;
}
