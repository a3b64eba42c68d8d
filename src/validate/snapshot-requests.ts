import { InvalidArgumentError } from '../errors';
import type { CreateSnapshotRequest__Output } from '../generated/csi/v1/CreateSnapshotRequest';
import type { CreateVolumeGroupSnapshotRequest__Output } from '../generated/csi/v1/CreateVolumeGroupSnapshotRequest';
import type { VolumeContentSource__Output } from '../generated/csi/v1/VolumeContentSource';
import type { ContentSource } from '../domain/volume-kind';
import type { CreateGroupCommand, CreateSnapshotCommand } from '../domain/commands';
import { validateName, validateObjectId, validateStringMap } from './fields';

export function parseCreateSnapshot(req: CreateSnapshotRequest__Output): CreateSnapshotCommand {
  return {
    name: validateName('name', req.name),
    sourceVolumeId: validateObjectId('source_volume_id', req.source_volume_id),
    parameters: validateStringMap('parameters', req.parameters),
  };
}

export function parseCreateGroup(req: CreateVolumeGroupSnapshotRequest__Output): CreateGroupCommand {
  const name = validateName('name', req.name);
  if (req.source_volume_ids.length === 0) throw new InvalidArgumentError('source_volume_ids is required');
  return {
    name,
    sourceVolumeIds: req.source_volume_ids.map((id, i) => validateObjectId(`source_volume_ids[${i}]`, id)),
    parameters: validateStringMap('parameters', req.parameters),
  };
}

export function parseContentSource(src: VolumeContentSource__Output | null): ContentSource | null {
  if (!src) return null;
  if (src.type === 'snapshot' && src.snapshot) {
    return { type: 'snapshot', id: validateObjectId('volume_content_source.snapshot.snapshot_id', src.snapshot.snapshot_id) };
  }
  if (src.type === 'volume' && src.volume) {
    return { type: 'volume', id: validateObjectId('volume_content_source.volume.volume_id', src.volume.volume_id) };
  }
  throw new InvalidArgumentError('volume_content_source must name a snapshot or a volume');
}
