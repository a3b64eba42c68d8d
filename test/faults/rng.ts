/** A small seeded PRNG (mulberry32): the same seed gives the same plan, so a failing round can be replayed. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An integer in [lo, hi]. */
  between(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(items.length)]!;
  }

  /** Deterministic bytes (content to write into volumes; only their checksums matter). */
  bytes(n: number): Buffer {
    const buf = Buffer.alloc(Math.ceil(n / 4) * 4);
    for (let i = 0; i < n; i += 4) buf.writeUInt32LE((this.next() * 4294967296) >>> 0, i);
    return buf.subarray(0, n);
  }

  /** A child generator with its own stream, so adding draws in one place does not shift another's. */
  fork(): Rng {
    return new Rng(this.int(2 ** 31));
  }
}
