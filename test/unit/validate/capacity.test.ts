import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, OutOfRangeError } from '../../../src/errors';
import { chooseCapacity, parseInt64, parseSizeRange, sizeFits } from '../../../src/validate/capacity';
import { INT64_MAX } from '../../../src/validate/quantity';
import { GiB, MiB, range } from '../../helpers/fakes';

describe('parseInt64', () => {
  it('parses int64 max exactly', () => {
    expect(parseInt64('f', '9223372036854775807')).toBe(INT64_MAX);
  });

  it('rejects one more than int64 max', () => {
    expect(() => parseInt64('f', '9223372036854775808')).toThrow(InvalidArgumentError);
  });

  it('rejects a negative size', () => {
    expect(() => parseInt64('f', '-1')).toThrow(/must not be negative/);
  });

  it.each([[''], ['1e3'], ['12abc'], ['1.5']])('rejects the non-integer %j', (text) => {
    expect(() => parseInt64('f', text)).toThrow(InvalidArgumentError);
  });
});

describe('parseSizeRange', () => {
  it('treats an absent range as no constraint', () => {
    expect(parseSizeRange('capacity_range', null)).toEqual({ required: 0n, limit: 0n });
  });

  it('rejects limit_bytes below required_bytes', () => {
    expect(() => parseSizeRange('capacity_range', range(2n * MiB, MiB))).toThrow(InvalidArgumentError);
  });

  it('accepts limit_bytes equal to required_bytes', () => {
    expect(parseSizeRange('capacity_range', range(MiB, MiB))).toEqual({ required: MiB, limit: MiB });
  });

  it('rejects a negative required_bytes', () => {
    expect(() => parseSizeRange('capacity_range', { required_bytes: '-5', limit_bytes: '0' })).toThrow(InvalidArgumentError);
  });
});

describe('chooseCapacity', () => {
  it('gives exactly required_bytes, not rounded to any unit', () => {
    expect(chooseCapacity({ required: 1_000_001n, limit: 0n }, GiB, null)).toBe(1_000_001n);
  });

  it('gives the default when nothing is asked for', () => {
    expect(chooseCapacity({ required: 0n, limit: 0n }, GiB, null)).toBe(GiB);
  });

  it('caps the default by limit_bytes', () => {
    expect(chooseCapacity({ required: 0n, limit: 100n * MiB }, GiB, null)).toBe(100n * MiB);
  });

  it('keeps the default when limit_bytes is above it', () => {
    expect(chooseCapacity({ required: 0n, limit: 5n * GiB }, GiB, null)).toBe(GiB);
  });

  it('allows exactly the maximum volume size', () => {
    expect(chooseCapacity({ required: 10n * GiB, limit: 0n }, GiB, 10n * GiB)).toBe(10n * GiB);
  });

  it('answers OUT_OF_RANGE one byte above the maximum', () => {
    expect(() => chooseCapacity({ required: 10n * GiB + 1n, limit: 0n }, GiB, 10n * GiB)).toThrow(OutOfRangeError);
  });
});

describe('sizeFits', () => {
  it('fits between required and limit, inclusive', () => {
    expect(sizeFits(GiB, { required: GiB, limit: GiB })).toBe(true);
    expect(sizeFits(GiB, { required: 0n, limit: 0n })).toBe(true);
  });

  it('does not fit below required or above limit', () => {
    expect(sizeFits(GiB, { required: GiB + 1n, limit: 0n })).toBe(false);
    expect(sizeFits(GiB, { required: 0n, limit: GiB - 1n })).toBe(false);
  });
});
