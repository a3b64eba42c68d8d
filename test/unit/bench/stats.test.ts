import { describe, expect, it } from 'vitest';
import { median, percentile, range, summarize } from '../../../bench/stats';

describe('bench statistics', () => {
  it('takes nearest-rank percentiles', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
  });

  it('summarises unsorted samples', () => {
    expect(summarize([3, 1, 2, 4])).toEqual({ n: 4, p50: 2, p95: 4, p99: 4, max: 4, mean: 2.5 });
  });

  it('gives NaN, not a number, for no samples', () => {
    expect(summarize([]).p99).toBeNaN();
    expect(median([])).toBeNaN();
  });

  it('takes the median of an odd and an even count, ignoring figures a run could not produce', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([NaN, 2, 4])).toBe(3);
    expect(range([3, NaN, 1, 2])).toEqual([1, 3]);
  });
});
