import { OutOfRangeError } from '../errors';

/** A CSI CapacityRange after validation. */
export interface SizeRange {
  required: bigint;
  /** 0 means no limit. */
  limit: bigint;
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
