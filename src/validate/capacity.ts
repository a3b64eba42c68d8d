import { InvalidArgumentError, OutOfRangeError } from '../errors';
import type { CapacityRange__Output } from '../generated/csi/v1/CapacityRange';
import { INT64_MAX } from './quantity';

export interface SizeRange {
  required: bigint;
  /** 0 means no limit. */
  limit: bigint;
}

/** int64 fields arrive as decimal strings (proto-loader `longs: String`); turn them into checked bigints. */
export function parseInt64(field: string, text: string): bigint {
  if (!/^-?\d{1,20}$/.test(text)) throw new InvalidArgumentError(`${field} is not an integer`);
  const value = BigInt(text);
  if (value < 0n) throw new InvalidArgumentError(`${field} must not be negative`);
  if (value > INT64_MAX) throw new InvalidArgumentError(`${field} is beyond int64`);
  return value;
}

export function parseSizeRange(field: string, range: CapacityRange__Output | null): SizeRange {
  if (!range) return { required: 0n, limit: 0n };
  const required = parseInt64(`${field}.required_bytes`, range.required_bytes);
  const limit = parseInt64(`${field}.limit_bytes`, range.limit_bytes);
  if (limit > 0n && limit < required) {
    throw new InvalidArgumentError(`${field}.limit_bytes (${limit}) is less than required_bytes (${required})`);
  }
  return { required, limit };
}

/**
 * The capacity a new volume gets: exactly required_bytes when given; otherwise the default, capped by limit_bytes
 * (CSI spec, CapacityRange). Anything above the configured maximum is OUT_OF_RANGE.
 */
export function chooseCapacity(range: SizeRange, defaultSize: bigint, maxSize: bigint | null): bigint {
  let size = range.required > 0n ? range.required : defaultSize;
  if (range.required === 0n && range.limit > 0n && range.limit < size) size = range.limit;
  if (maxSize !== null && size > maxSize) {
    throw new OutOfRangeError(`requested ${size} bytes is more than the maximum volume size ${maxSize}`);
  }
  return size;
}

/** True when an existing size satisfies a range (used for idempotent CreateVolume). */
export function sizeFits(size: bigint, range: SizeRange): boolean {
  return size >= range.required && (range.limit === 0n || size <= range.limit);
}
