import { InvalidArgumentError } from '../errors';
import type { CapacityRange__Output } from '../generated/csi/v1/CapacityRange';
import { INT64_MAX } from './quantity';
import type { SizeRange } from '../domain/size-range';

export { chooseCapacity, sizeFits, type SizeRange } from '../domain/size-range';


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

