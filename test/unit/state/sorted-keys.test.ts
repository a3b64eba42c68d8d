import { describe, expect, it } from 'vitest';
import { SortedKeys } from '../../../src/state/sorted-keys';

const all = (): boolean => true;

function keysOf(...keys: string[]): SortedKeys {
  const s = new SortedKeys();
  for (const k of keys) s.add(k);
  return s;
}

describe('SortedKeys', () => {
  it('keeps keys in order whatever order they arrive in, once each', () => {
    const s = keysOf('c', 'a', 'b', 'a');
    expect(s.page(null, 0, all)).toEqual({ keys: ['a', 'b', 'c'], more: false });
    expect(s.size).toBe(3);
  });

  it('forgets a deleted key and ignores deleting an absent one', () => {
    const s = keysOf('a', 'b', 'c');
    s.delete('b');
    s.delete('zz');
    expect(s.page(null, 0, all).keys).toEqual(['a', 'c']);
  });

  it('resumes after a key, even one no longer present', () => {
    const s = keysOf('a', 'c', 'e');
    expect(s.page('a', 0, all).keys).toEqual(['c', 'e']);
    expect(s.page('b', 0, all).keys).toEqual(['c', 'e']);
    expect(s.page('e', 0, all)).toEqual({ keys: [], more: false });
  });

  it('stops at max and says whether an accepted key follows', () => {
    const s = keysOf('a', 'b', 'c', 'd');
    expect(s.page(null, 2, all)).toEqual({ keys: ['a', 'b'], more: true });
    expect(s.page('b', 2, all)).toEqual({ keys: ['c', 'd'], more: false });
  });

  it('skips keys the filter rejects, also when deciding whether more follow', () => {
    const s = keysOf('a', 'b', 'c', 'd');
    const notD = (k: string): boolean => k !== 'b' && k !== 'd';
    expect(s.page(null, 2, notD)).toEqual({ keys: ['a', 'c'], more: false });
  });
});
