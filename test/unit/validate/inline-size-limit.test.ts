import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../src/errors';
import { parseNodePublish } from '../../../src/validate/node-requests';
import { mountCap, nodePublishRequest } from '../../helpers/fakes';

const limits = { allowedPathRoot: '/var/lib/kubelet', defaultVolumeSize: 1024n, maxVolumeSize: null };
const inline = (context: Record<string, string>) =>
  parseNodePublish(nodePublishRequest('csi-abc', '', '/var/lib/kubelet/pods/p/mount', { volume_capability: mountCap(), volume_context: { 'csi.storage.k8s.io/ephemeral': 'true', ...context } }), limits);

describe('NodePublishVolume of an inline volume: sizeLimit', () => {
  it.each(['image', 'quota'])('refuses sizeLimit %s with INVALID_ARGUMENT naming the alternative', (value) => {
    expect(() => inline({ sizeLimit: value, size: '64Mi' })).toThrow(
      new InvalidArgumentError(`volume attribute sizeLimit "${value}" is not supported for CSI inline volumes (plain directories; size not enforced): use a generic ephemeral volume of a StorageClass with sizeLimit`),
    );
  });

  it('accepts sizeLimit none (what it is anyway) and no sizeLimit', () => {
    expect(inline({ sizeLimit: 'none', size: '64Mi' })).toMatchObject({ kind: 'ephemeral', cmd: { sizeBytes: 64n * 1024n * 1024n } });
    expect(inline({})).toMatchObject({ kind: 'ephemeral', cmd: { sizeBytes: 1024n } });
  });
});
