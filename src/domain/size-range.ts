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
  refuseAboveMax(size, maxSize, `requested ${size} bytes`);
  return size;
}

/** True when an existing size satisfies a range (used for idempotent CreateVolume). */
export function sizeFits(size: bigint, range: SizeRange): boolean {
  return size >= range.required && (range.limit === 0n || size <= range.limit);
}

/** --max-volume-size, for every way a volume gets its size (create, expand, inline): above it is OUT_OF_RANGE. */
export function refuseAboveMax(size: bigint, maxSize: bigint | null, what: string): void {
  if (maxSize !== null && size > maxSize) throw new OutOfRangeError(`${what} is more than the maximum volume size ${maxSize}`);
}
