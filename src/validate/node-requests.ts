import { InvalidArgumentError } from '../errors';
import { EPHEMERAL_CONTEXT_KEY, EPHEMERAL_SIZE_KEY, type EphemeralPublishCommand, type NodePublishCommand as PublishCommand, type StageCommand } from '../domain/commands';
import type { NodePublishVolumeRequest__Output } from '../generated/csi/v1/NodePublishVolumeRequest';
import type { NodeStageVolumeRequest__Output } from '../generated/csi/v1/NodeStageVolumeRequest';
import { parseCapability } from './capability';
import { requireField, validateHostPath, validateObjectId, validateStringMap } from './fields';
import { parseQuantity } from './quantity';
import { refuseAboveMax } from '../domain/size-range';
import { SIZE_LIMIT_KEY } from '../domain/kind-choice';

/** The settings node requests are checked against (src/config.ts Config has them; not imported, so no cycle). */
export interface NodeRequestLimits {
  readonly allowedPathRoot: string;
  readonly defaultVolumeSize: bigint;
  readonly maxVolumeSize: bigint | null;
}

export function parseNodeStage(req: NodeStageVolumeRequest__Output, config: NodeRequestLimits): StageCommand {
  return {
    volumeId: validateObjectId('volume_id', req.volume_id),
    stagingPath: validateHostPath('staging_target_path', req.staging_target_path, config.allowedPathRoot),
    capability: parseCapability('volume_capability', req.volume_capability),
    volumeContext: validateStringMap('volume_context', req.volume_context),
  };
}

export type NodePublish = { kind: 'persistent'; cmd: PublishCommand } | { kind: 'ephemeral'; cmd: EphemeralPublishCommand };

export function parseNodePublish(req: NodePublishVolumeRequest__Output, config: NodeRequestLimits): NodePublish {
  const volumeId = validateObjectId('volume_id', req.volume_id);
  const targetPath = validateHostPath('target_path', req.target_path, config.allowedPathRoot);
  const capability = parseCapability('volume_capability', req.volume_capability);
  if (req.volume_context[EPHEMERAL_CONTEXT_KEY] === 'true') {
    if (capability.accessType === 'block') throw new InvalidArgumentError('inline (ephemeral) volumes are filesystem volumes only');
    refuseInlineSizeLimit(req.volume_context[SIZE_LIMIT_KEY]);
    const sizeBytes = ephemeralSize(req.volume_context[EPHEMERAL_SIZE_KEY], config);
    return { kind: 'ephemeral', cmd: { volumeId, targetPath, capability, readonly: req.readonly, sizeBytes } };
  }
  // We advertise STAGE_UNSTAGE_VOLUME, so the CO must name the staging path (CSI spec, NodePublishVolume).
  if (req.staging_target_path === '') throw new InvalidArgumentError('staging_target_path is required: this driver stages volumes');
  const stagingPath = validateHostPath('staging_target_path', req.staging_target_path, config.allowedPathRoot);
  if (stagingPath === targetPath) throw new InvalidArgumentError('target_path must differ from staging_target_path');
  return { kind: 'persistent', cmd: { volumeId, targetPath, stagingPath, capability, readonly: req.readonly } };
}

/**
 * Inline volumes are plain directories: their size is recorded, not enforced. A pod asking for an enforced size is
 * refused rather than silently given less; a generic ephemeral volume (a claim template) of a sizeLimit class gets one.
 */
function refuseInlineSizeLimit(value: string | undefined): void {
  if (value === undefined || value === '' || value === 'none') return;
  throw new InvalidArgumentError(`volume attribute ${SIZE_LIMIT_KEY} ${JSON.stringify(value.slice(0, 64))} is not supported for CSI inline volumes (plain directories; size not enforced): use a generic ephemeral volume of a StorageClass with ${SIZE_LIMIT_KEY}`);
}

/** volumeAttributes.size of an inline volume, in Kubernetes quantity syntax; absent means --default-volume-size. */
function ephemeralSize(text: string | undefined, config: NodeRequestLimits): bigint {
  if (text === undefined || text === '') return config.defaultVolumeSize;
  const bytes = parseQuantity(text);
  if (bytes === null || bytes === 0n) throw new InvalidArgumentError(`volume attribute size ${JSON.stringify(text.slice(0, 64))} is not a positive quantity like 256Mi`);
  refuseAboveMax(bytes, config.maxVolumeSize, `inline volume size ${bytes}`);
  return bytes;
}

/** For calls that only name a volume and a path the driver will read (stats, expand): emptiness is the only check here. */
export function parseVolumeAndPath(volumeId: string, volumePath: string): { volumeId: string; volumePath: string } {
  return { volumeId: validateObjectId('volume_id', volumeId), volumePath: requireField('volume_path', volumePath) };
}
