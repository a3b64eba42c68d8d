import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../src/errors';
import { hostPathProblem, validateHostPath, validateName, validateNodeId, validateObjectId, validateStringMap } from '../../../src/validate/fields';

describe('validateObjectId', () => {
  it('accepts letters, digits, dot, underscore and dash', () => {
    expect(validateObjectId('volume_id', 'pvc-1a2b_3.c')).toBe('pvc-1a2b_3.c');
  });

  it.each([
    ['a parent-directory escape', '../etc'],
    ['an absolute path', '/abs'],
    ['a slash inside', 'a/b'],
    ['a NUL byte', 'a\0b'],
    ['a leading dot', '.hidden'],
    ['a space', 'a b'],
  ])('rejects %s as INVALID_ARGUMENT', (_what, id) => {
    expect(() => validateObjectId('volume_id', id)).toThrow(InvalidArgumentError);
  });

  it('rejects an empty ID as required', () => {
    expect(() => validateObjectId('volume_id', '')).toThrow(/volume_id is required/);
  });

  it('accepts 128 bytes and rejects 129', () => {
    expect(validateObjectId('volume_id', 'a'.repeat(128))).toHaveLength(128);
    expect(() => validateObjectId('volume_id', 'a'.repeat(129))).toThrow(InvalidArgumentError);
  });
});

describe('validateName', () => {
  it('accepts any text a CO chooses, slashes included (it is never a path)', () => {
    expect(validateName('name', 'ns/pvc-../x')).toBe('ns/pvc-../x');
  });

  it('rejects a NUL byte', () => {
    expect(() => validateName('name', 'pvc\0x')).toThrow(InvalidArgumentError);
  });

  it('rejects more than 256 bytes counted in UTF-8, not characters', () => {
    expect(validateName('name', 'a'.repeat(256))).toHaveLength(256);
    expect(() => validateName('name', 'é'.repeat(129))).toThrow(InvalidArgumentError);
  });

  it('rejects an empty name', () => {
    expect(() => validateName('name', '')).toThrow(InvalidArgumentError);
  });
});

describe('validateNodeId', () => {
  it('rejects empty, NUL and over-long node IDs', () => {
    expect(() => validateNodeId('node_id', '')).toThrow(InvalidArgumentError);
    expect(() => validateNodeId('node_id', 'n\0')).toThrow(InvalidArgumentError);
    expect(() => validateNodeId('node_id', 'n'.repeat(257))).toThrow(InvalidArgumentError);
  });
});

describe('host paths', () => {
  const ROOT = '/var/lib/kubelet';

  it('normalises a clean absolute path and strips trailing slashes', () => {
    expect(validateHostPath('target_path', '/var/lib/kubelet//pods/x/', ROOT)).toBe('/var/lib/kubelet/pods/x');
  });

  it.each([
    ['some/path', 'is not an absolute path'],
    ['/var/../etc', "contains '..'"],
    ['/', 'is the root directory'],
    ['//', 'is the root directory'],
    ['/a\0b', 'contains a NUL byte'],
    ['/' + 'a'.repeat(4096), 'is longer than 4096 bytes'],
    ['/etc/kubernetes', 'is not under the allowed root /var/lib/kubelet (--allowed-path-root)'],
    ['/var/lib/kubelet', 'is not under the allowed root /var/lib/kubelet (--allowed-path-root)'],
    ['/var/lib/kubelet/', 'is not under the allowed root /var/lib/kubelet (--allowed-path-root)'],
    ['/var/lib/kubelet-other/pods', 'is not under the allowed root /var/lib/kubelet (--allowed-path-root)'],
  ])('%j is refused because it %s', (p, problem) => {
    expect(hostPathProblem(p, ROOT)).toBe(problem);
    expect(() => validateHostPath('target_path', p, ROOT)).toThrow(InvalidArgumentError);
  });

  it('allows ".." inside a file name (only a whole component is an escape)', () => {
    expect(hostPathProblem('/var/lib/kubelet/a..b', ROOT)).toBeNull();
  });

  it('admits every absolute path other than / when the allowed root is /', () => {
    expect(hostPathProblem('/etc/kubernetes', '/')).toBeNull();
    expect(hostPathProblem('/', '/')).toBe('is the root directory');
  });

  it('rejects an empty path as required', () => {
    expect(() => validateHostPath('target_path', '', ROOT)).toThrow(/target_path is required/);
  });
});

describe('validateStringMap', () => {
  it('returns a copy, not the request object', () => {
    const input = { a: '1' };
    const out = validateStringMap('parameters', input);
    expect(out).toEqual(input);
    expect(out).not.toBe(input);
  });

  it('rejects more than 128 entries and over-long values', () => {
    const many = Object.fromEntries(Array.from({ length: 129 }, (_, i) => [`k${i}`, 'v']));
    expect(() => validateStringMap('parameters', many)).toThrow(InvalidArgumentError);
    expect(() => validateStringMap('parameters', { k: 'v'.repeat(4097) })).toThrow(InvalidArgumentError);
  });
});
