/**
 * A set of string keys kept in sorted order, so a paged listing resumes after a key in O(log N + page) instead of
 * sorting every key on every call. Insert and remove are a binary search plus one array splice (a memmove: about
 * 10 µs at 50,000 keys).
 */
export class SortedKeys {
  private readonly keys: string[] = [];

  get size(): number {
    return this.keys.length;
  }

  add(key: string): void {
    const i = this.lowerBound(key);
    if (this.keys[i] !== key) this.keys.splice(i, 0, key);
  }

  delete(key: string): void {
    const i = this.lowerBound(key);
    if (this.keys[i] === key) this.keys.splice(i, 1);
  }

  /**
   * Up to `max` keys (0: no limit) greater than `after` (null: from the start) that `accept` takes, in order, and
   * whether an accepted key follows them.
   */
  page(after: string | null, max: number, accept: (key: string) => boolean): { keys: string[]; more: boolean } {
    const out: string[] = [];
    for (let i = after === null ? 0 : upperBound(this.keys, after); i < this.keys.length; i++) {
      const key = this.keys[i]!;
      if (!accept(key)) continue;
      if (max > 0 && out.length === max) return { keys: out, more: true };
      out.push(key);
    }
    return { keys: out, more: false };
  }

  /** Index of the first key ≥ `key`. */
  private lowerBound(key: string): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.keys[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** Index of the first element greater than `key` in a sorted array (where a listing resumes after `key`). */
export function upperBound(sorted: readonly string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
