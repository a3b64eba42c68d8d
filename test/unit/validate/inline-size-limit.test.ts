import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../src/errors';
import { parseNodePublish } from '../../../src/validate/node-requests';
import { mountCap, nodePublishRequest } from '../../helpers/fakes';

const limits = { allowedPathRoot: '/var/lib/kubelet', defaultVolumeSize: 1024n, maxVolumeSize: null };
const MiB = 1024n * 1024n;
const inline = (context: Record<string, string>, fsType = '') => {
  const cap = mountCap();
  cap.mount!.fs_type = fsType;
  return parseNodePublish(
    nodePublishRequest('csi-abc', '', '/var/lib/kubelet/pods/p/mount', { volume_capability: cap, volume_context: { 'csi.storage.k8s.io/ephemeral': 'true', ...context } }),
    limits,
  );
};

describe('NodePublishVolume of an inline volume: sizeLimit', () => {
  it('accepts sizeLimit none and no sizeLimit as a plain directory (no filesystem of its own)', () => {
    expect(inline({ sizeLimit: 'none', size: '64Mi' })).toMatchObject({ kind: 'ephemeral', cmd: { sizeBytes: 64n * MiB, fsType: null } });
    expect(inline({})).toMatchObject({ kind: 'ephemeral', cmd: { sizeBytes: 1024n, fsType: null } });
  });

  it('takes sizeLimit image with the fsType attribute, ext4 when none is named', () => {
    expect(inline({ sizeLimit: 'image', size: '256Mi', fsType: 'xfs' })).toMatchObject({ kind: 'ephemeral', cmd: { sizeBytes: 256n * MiB, fsType: 'xfs' } });
    expect(inline({ sizeLimit: 'image', size: '64Mi' })).toMatchObject({ kind: 'ephemeral', cmd: { fsType: 'ext4' } });
  });

  it("takes the capability's fs_type (the pod's csi.fsType) when the attribute names none", () => {
    expect(inline({ sizeLimit: 'image' }, 'xfs')).toMatchObject({ cmd: { fsType: 'xfs' } });
  });

  it('refuses an fsType attribute that differs from the capability fs_type', () => {
    expect(() => inline({ sizeLimit: 'image', fsType: 'ext4' }, 'xfs')).toThrow(new InvalidArgumentError('volume attribute fsType "ext4" differs from the capability\'s fs_type "xfs"'));
  });

  it('refuses a filesystem an image cannot hold', () => {
    expect(() => inline({ sizeLimit: 'image', fsType: 'btrfs' })).toThrow(new InvalidArgumentError('fsType "btrfs" is not one an inline image volume can hold (ext4, xfs)'));
  });

  it('refuses an fsType attribute on a plain directory', () => {
    expect(() => inline({ fsType: 'ext4' })).toThrow(new InvalidArgumentError('volume attribute fsType applies only with sizeLimit image (a plain inline directory has no filesystem of its own)'));
  });

  it('refuses sizeLimit quota naming what to use instead', () => {
    expect(() => inline({ sizeLimit: 'quota', size: '64Mi' })).toThrow(
      new InvalidArgumentError('volume attribute sizeLimit "quota" is not supported for CSI inline volumes (the node allocates no project quotas): use sizeLimit image, or a generic ephemeral volume of a StorageClass with sizeLimit quota'),
    );
  });

  it('refuses an unknown sizeLimit listing the values it takes', () => {
    expect(() => inline({ sizeLimit: 'Image' })).toThrow(new InvalidArgumentError('volume attribute sizeLimit "Image" must be one of none, image for a CSI inline volume'));
  });
});
