import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../src/errors';
import type { VolumeCapability__Output } from '../../../src/generated/csi/v1/VolumeCapability';
import { isReadOnlyMode, parseCapabilities, parseCapability } from '../../../src/validate/capability';
import { blockCap, mountCap } from '../../helpers/fakes';

describe('parseCapability', () => {
  it('resolves a mount capability', () => {
    expect(parseCapability('cap', mountCap('MULTI_NODE_MULTI_WRITER', ['noatime']))).toEqual({
      accessType: 'mount',
      mode: 'MULTI_NODE_MULTI_WRITER',
      fsType: '',
      mountFlags: ['noatime'],
      mountGroup: '',
    });
  });

  it('resolves a block capability', () => {
    expect(parseCapability('cap', blockCap('SINGLE_NODE_WRITER'))).toMatchObject({ accessType: 'block', mode: 'SINGLE_NODE_WRITER' });
  });

  it('rejects a missing capability', () => {
    expect(() => parseCapability('cap', null)).toThrow(InvalidArgumentError);
  });

  it('rejects the UNKNOWN access mode', () => {
    expect(() => parseCapability('cap', mountCap('UNKNOWN'))).toThrow(InvalidArgumentError);
  });

  it('rejects an access mode name the spec does not define', () => {
    const cap = { ...mountCap(), access_mode: { mode: 'EVERYONE_WRITES' } } as unknown as VolumeCapability__Output;
    expect(() => parseCapability('cap', cap)).toThrow(InvalidArgumentError);
  });

  it('rejects a numeric access mode (enums arrive as names)', () => {
    const cap = { ...mountCap(), access_mode: { mode: 1 } } as unknown as VolumeCapability__Output;
    expect(() => parseCapability('cap', cap)).toThrow(InvalidArgumentError);
  });

  it('rejects a missing access mode', () => {
    expect(() => parseCapability('cap', { ...mountCap(), access_mode: null })).toThrow(InvalidArgumentError);
  });

  it('rejects a capability with no access_type', () => {
    const cap: VolumeCapability__Output = { access_mode: { mode: 'SINGLE_NODE_WRITER' } };
    expect(() => parseCapability('cap', cap)).toThrow(/must set access_type mount or block/);
  });

  it.each([['rw;reboot'], ['a b'], [''], ['x'.repeat(257)], ['$(id)']])('rejects the mount flag %j', (flag) => {
    expect(() => parseCapability('cap', mountCap('SINGLE_NODE_WRITER', ['noatime', flag]))).toThrow(InvalidArgumentError);
  });

  it('accepts mount flags with values', () => {
    expect(parseCapability('cap', mountCap('SINGLE_NODE_WRITER', ['uid=1000', 'context=a:b']))).toMatchObject({ mountFlags: ['uid=1000', 'context=a:b'] });
  });
});

describe('parseCapabilities', () => {
  it('rejects an empty list as required', () => {
    expect(() => parseCapabilities('volume_capabilities', [])).toThrow(/volume_capabilities is required/);
  });

  it('names the index of the bad entry', () => {
    expect(() => parseCapabilities('volume_capabilities', [mountCap(), mountCap('UNKNOWN')])).toThrow(/volume_capabilities\[1\]/);
  });
});

describe('isReadOnlyMode', () => {
  it('is true only for the two reader-only modes', () => {
    expect(isReadOnlyMode('SINGLE_NODE_READER_ONLY')).toBe(true);
    expect(isReadOnlyMode('MULTI_NODE_READER_ONLY')).toBe(true);
    expect(isReadOnlyMode('MULTI_NODE_SINGLE_WRITER')).toBe(false);
  });
});
