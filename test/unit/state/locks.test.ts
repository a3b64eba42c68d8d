import { describe, expect, it } from 'vitest';
import { AbortedError } from '../../../src/errors';
import { KeyedLocks } from '../../../src/state/locks';

describe('KeyedLocks', () => {
  it('answers ABORTED for a key that is held', () => {
    const locks = new KeyedLocks();
    locks.tryAcquire(['volume:a'], 'volume a');
    expect(() => locks.tryAcquire(['volume:a'], 'volume a')).toThrow(AbortedError);
  });

  it('answers ABORTED when any one of several keys is held, and takes none of them', () => {
    const locks = new KeyedLocks();
    locks.tryAcquire(['b'], 'b');
    expect(() => locks.tryAcquire(['a', 'b'], 'a and b')).toThrow(AbortedError);
    expect(locks.isHeld('a')).toBe(false);
  });

  it('lets other keys be taken while one is held', () => {
    const locks = new KeyedLocks();
    locks.tryAcquire(['a'], 'a');
    expect(() => locks.tryAcquire(['b'], 'b')).not.toThrow();
  });

  it('frees the key on release', () => {
    const locks = new KeyedLocks();
    const release = locks.tryAcquire(['a'], 'a');
    release();
    expect(locks.isHeld('a')).toBe(false);
    expect(() => locks.tryAcquire(['a'], 'a')).not.toThrow();
  });

  it('accepts the same key twice in one acquisition and frees it with one release', () => {
    const locks = new KeyedLocks();
    const release = locks.tryAcquire(['a', 'a'], 'a');
    expect(locks.isHeld('a')).toBe(true);
    release();
    expect(locks.isHeld('a')).toBe(false);
  });

  it('ignores a second release, which must not free a later holder', () => {
    const locks = new KeyedLocks();
    const first = locks.tryAcquire(['a'], 'a');
    first();
    locks.tryAcquire(['a'], 'a');
    first();
    expect(locks.isHeld('a')).toBe(true);
  });

  it('`with` holds the keys while the function runs and returns its result', async () => {
    const locks = new KeyedLocks();
    const result = await locks.with(['a'], 'a', async () => {
      expect(locks.isHeld('a')).toBe(true);
      return 7;
    });
    expect(result).toBe(7);
    expect(locks.isHeld('a')).toBe(false);
  });

  it('`with` releases the keys when the function throws', async () => {
    const locks = new KeyedLocks();
    await expect(
      locks.with(['a', 'b'], 'a', async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(locks.isHeld('a')).toBe(false);
    expect(locks.isHeld('b')).toBe(false);
  });

  it('`with` takes the keys synchronously, so a call in the same tick is ABORTED', async () => {
    const locks = new KeyedLocks();
    const first = locks.with(['a'], 'a', async () => 'first');
    const second = locks.with(['a'], 'a', async () => 'second');
    await expect(first).resolves.toBe('first');
    await expect(second).rejects.toBeInstanceOf(AbortedError);
  });
});
