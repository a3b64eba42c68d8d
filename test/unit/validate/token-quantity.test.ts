import { describe, expect, it } from 'vitest';
import { AbortedError, InvalidArgumentError } from '../../../src/errors';
import { parseQuantity } from '../../../src/validate/quantity';
import { decodeToken, encodeToken, parseMaxEntries } from '../../../src/domain/paging';

describe('pagination tokens', () => {
  it('round-trips the key to resume after', () => {
    expect(decodeToken(encodeToken('vol-0042'))).toBe('vol-0042');
  });

  it('treats an empty token as the first page', () => {
    expect(decodeToken('')).toBeNull();
  });

  it.each([
    ['garbage', 'not-a-token!'],
    ['base64 of non-JSON', Buffer.from('hello').toString('base64url')],
    ['another version', Buffer.from(JSON.stringify({ v: 2, after: 'x' })).toString('base64url')],
    ['an empty key', Buffer.from(JSON.stringify({ v: 1, after: '' })).toString('base64url')],
    ['a numeric key', Buffer.from(JSON.stringify({ v: 1, after: 7 })).toString('base64url')],
    ['JSON null', Buffer.from('null').toString('base64url')],
  ])('answers ABORTED for %s', (_what, token) => {
    expect(() => decodeToken(token)).toThrow(AbortedError);
  });
});

describe('parseMaxEntries', () => {
  it('accepts zero (no limit) and positive counts', () => {
    expect(parseMaxEntries('max_entries', 0)).toBe(0);
    expect(parseMaxEntries('max_entries', 3)).toBe(3);
  });

  it('rejects a negative count', () => {
    expect(() => parseMaxEntries('max_entries', -1)).toThrow(InvalidArgumentError);
  });
});

describe('parseQuantity', () => {
  it.each([
    ['256Mi', 268_435_456n],
    ['1.5Gi', 1_610_612_736n],
    ['1G', 1_000_000_000n],
    ['1Gi', 1_073_741_824n],
    ['1073741824', 1_073_741_824n],
    ['2k', 2000n],
    ['0', 0n],
    [' 1Ki ', 1024n],
  ])('%j is %s bytes', (text, bytes) => {
    expect(parseQuantity(text)).toBe(bytes);
  });

  it('rounds a fraction of a byte up', () => {
    expect(parseQuantity('0.1')).toBe(1n);
    expect(parseQuantity('1.0001k')).toBe(1001n);
  });

  it.each([[''], ['abc'], ['-1Gi'], ['1gi'], ['1.5.5'], ['1 Gi'], ['1e9'], ['Gi'], ['1m']])('%j is not a quantity', (text) => {
    expect(parseQuantity(text)).toBeNull();
  });
});
