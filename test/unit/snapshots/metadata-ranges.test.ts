import { describe, expect, it } from 'vitest';
import { FIEMAP_EXTENT_DELALLOC, FIEMAP_EXTENT_LAST, FIEMAP_EXTENT_UNWRITTEN, type PhysicalExtent } from '../../../src/os/block-map';
import { alignRanges, extentDelta, extentsAreDefinite, mergeRanges, pagesOf, tuplesOf } from '../../../src/snapshots/metadata/ranges';

const ext = (logical: number, physical: number, length: number, flags = 0): PhysicalExtent => ({ logical, physical, length, flags });
const r = (offset: number, length: number): { offset: number; length: number } => ({ offset, length });

describe('mergeRanges', () => {
  it('sorts, joins overlapping and touching ranges and drops empty ones', () => {
    expect(mergeRanges([r(8, 4), r(0, 4), r(4, 2), r(20, 0), r(10, 6)])).toEqual([r(0, 6), r(8, 8)]);
  });
});

describe('alignRanges', () => {
  it('widens ranges to whole blocks, merges what then touches, and cuts at the capacity', () => {
    expect(alignRanges([r(1, 2), r(4097, 10), r(12000, 5000)], 4096, 16384)).toEqual([r(0, 16384)]);
    expect(alignRanges([r(1, 2), r(12000, 10)], 4096, 16384)).toEqual([r(0, 4096), r(8192, 4096)]);
    expect(alignRanges([r(100, 1)], 4096, 16384)).toEqual([r(0, 4096)]);
    expect(alignRanges([r(16000, 4096)], 4096, 16384)).toEqual([r(12288, 4096)]);
  });
});

describe('extentDelta', () => {
  it('is empty when both files map every byte to the same place, however the extents are split', () => {
    expect(extentDelta([ext(0, 1000, 8192)], [ext(0, 1000, 4096), ext(4096, 5096, 4096)])).toEqual([]);
  });

  it('reports a block that moved (rewritten, copy-on-write) and nothing around it', () => {
    const base = [ext(0, 100_000, 12288)];
    const target = [ext(0, 100_000, 4096), ext(4096, 900_000, 4096), ext(8192, 108_192, 4096)];
    expect(extentDelta(base, target)).toEqual([r(4096, 4096)]);
  });

  it('reports bytes mapped in only one file, and not holes in both', () => {
    expect(extentDelta([ext(0, 5000, 4096)], [ext(0, 5000, 4096), ext(65536, 70000, 8192)])).toEqual([r(65536, 8192)]);
    expect(extentDelta([ext(0, 5000, 4096), ext(8192, 9000, 4096)], [ext(0, 5000, 4096)])).toEqual([r(8192, 4096)]);
  });

  it('treats unwritten (preallocated) extents as holes: they read as zeros', () => {
    expect(extentDelta([], [ext(0, 5000, 4096, FIEMAP_EXTENT_UNWRITTEN | FIEMAP_EXTENT_LAST)])).toEqual([]);
  });

  it('reports a whole copy (no shared location) as changed wherever either file has data', () => {
    expect(extentDelta([ext(0, 1000, 4096)], [ext(0, 2000, 4096)])).toEqual([r(0, 4096)]);
  });
});

describe('extentsAreDefinite', () => {
  it('is false when an extent is still delayed-allocation (no location to compare)', () => {
    expect(extentsAreDefinite([ext(0, 1, 4096), ext(4096, 0, 4096, FIEMAP_EXTENT_DELALLOC)])).toBe(false);
    expect(extentsAreDefinite([ext(0, 1, 4096, FIEMAP_EXTENT_LAST)])).toBe(true);
  });
});

describe('tuplesOf', () => {
  const ranges = [r(0, 8192), r(40960, 4096)];

  it('VARIABLE_LENGTH: one tuple per range', () => {
    expect([...tuplesOf(ranges, 'VARIABLE_LENGTH', 4096, 0)]).toEqual([{ offset: 0, size: 8192 }, { offset: 40960, size: 4096 }]);
  });

  it('FIXED_LENGTH: one tuple per block', () => {
    expect([...tuplesOf(ranges, 'FIXED_LENGTH', 4096, 0)]).toEqual([
      { offset: 0, size: 4096 },
      { offset: 4096, size: 4096 },
      { offset: 40960, size: 4096 },
    ]);
  });

  it('starts at the block holding starting_offset: no tuple ends at or before it (CSI spec)', () => {
    expect([...tuplesOf(ranges, 'VARIABLE_LENGTH', 4096, 5000)]).toEqual([{ offset: 4096, size: 4096 }, { offset: 40960, size: 4096 }]);
    expect([...tuplesOf(ranges, 'FIXED_LENGTH', 4096, 8192)]).toEqual([{ offset: 40960, size: 4096 }]);
    expect([...tuplesOf(ranges, 'FIXED_LENGTH', 4096, 45056)]).toEqual([]);
  });
});

describe('pagesOf', () => {
  it('groups into messages of at most max, the last one shorter', () => {
    expect([...pagesOf([1, 2, 3, 4, 5], 2)]).toEqual([[1, 2], [3, 4], [5]]);
    expect([...pagesOf([], 2)]).toEqual([]);
  });
});
