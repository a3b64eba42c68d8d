import { AbortedError, InvalidArgumentError } from '../errors';
import { upperBound } from '../state/sorted-keys';

/**
 * Pagination tokens are opaque to the CO: base64url of the last key returned. Resuming after a key (not an offset)
 * keeps pages right when entries are added or deleted between calls.
 */
export function encodeToken(afterKey: string): string {
  return Buffer.from(JSON.stringify({ v: 1, after: afterKey })).toString('base64url');
}

/** Returns the key to resume after, or null for the first page. CSI spec: an invalid starting_token is ABORTED. */
export function decodeToken(token: string): string | null {
  if (token === '') return null;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { v?: unknown; after?: unknown };
    if (parsed.v === 1 && typeof parsed.after === 'string' && parsed.after !== '') return parsed.after;
  } catch {
    // fall through: not our token
  }
  throw new AbortedError('starting_token is not a token this driver issued');
}

export function parseMaxEntries(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) throw new InvalidArgumentError(`${field} must not be negative`);
  return value;
}

export interface KeyPage {
  keys: string[];
  nextToken: string;
}

/** One page of a sorted key list, resuming after the token's key; max 0 means everything that is left. */
export function pageAfter(sortedKeys: readonly string[], maxEntries: number, startingToken: string): KeyPage {
  const after = decodeToken(startingToken);
  const start = after === null ? 0 : upperBound(sortedKeys, after);
  const end = maxEntries > 0 ? Math.min(sortedKeys.length, start + maxEntries) : sortedKeys.length;
  return { keys: sortedKeys.slice(start, end), nextToken: end < sortedKeys.length ? encodeToken(sortedKeys[end - 1]!) : '' };
}
