import { InvalidArgumentError } from '../errors';
import type { NodePublishVolumeRequest__Output } from '../generated/csi/v1/NodePublishVolumeRequest';
import type { NodeStageVolumeRequest__Output } from '../generated/csi/v1/NodeStageVolumeRequest';
import type { PublishCommand } from '../node/publish';
import type { StageCommand } from '../node/stage';
import { parseCapability } from './capability';
import { requireField, validateHostPath, validateObjectId } from './fields';

export function parseNodeStage(req: NodeStageVolumeRequest__Output): StageCommand {
  return {
    volumeId: validateObjectId('volume_id', req.volume_id),
    stagingPath: validateHostPath('staging_target_path', req.staging_target_path),
    capability: parseCapability('volume_capability', req.volume_capability),
  };
}

export function parseNodePublish(req: NodePublishVolumeRequest__Output): PublishCommand {
  const volumeId = validateObjectId('volume_id', req.volume_id);
  const targetPath = validateHostPath('target_path', req.target_path);
  const capability = parseCapability('volume_capability', req.volume_capability);
  // We advertise STAGE_UNSTAGE_VOLUME, so the CO must name the staging path (CSI spec, NodePublishVolume).
  if (req.staging_target_path === '') throw new InvalidArgumentError('staging_target_path is required: this driver stages volumes');
  const stagingPath = validateHostPath('staging_target_path', req.staging_target_path);
  if (stagingPath === targetPath) throw new InvalidArgumentError('target_path must differ from staging_target_path');
  return { volumeId, targetPath, stagingPath, capability, readonly: req.readonly };
}

/** For calls that only name a volume and a path the driver will read (stats, expand): emptiness is the only check here. */
export function parseVolumeAndPath(volumeId: string, volumePath: string): { volumeId: string; volumePath: string } {
  return { volumeId: validateObjectId('volume_id', volumeId), volumePath: requireField('volume_path', volumePath) };
}
