import { InvalidArgumentError } from '../errors';
import { EPHEMERAL_CONTEXT_KEY, EPHEMERAL_FS_TYPE_KEY, EPHEMERAL_SIZE_KEY, type EphemeralPublishCommand, type NodePublishCommand as PublishCommand, type StageCommand } from '../domain/commands';
import type { NodePublishVolumeRequest__Output } from '../generated/csi/v1/NodePublishVolumeRequest';
import type { NodeStageVolumeRequest__Output } from '../generated/csi/v1/NodeStageVolumeRequest';
import { parseCapability } from './capability';
import { requireField, validateHostPath, validateObjectId, validateStringMap } from './fields';
import { parseQuantity } from './quantity';
import { refuseAboveMax } from '../domain/size-range';
import { DEFAULT_IMAGE_FS, SIZE_LIMIT_KEY } from '../domain/kind-choice';
import { IMAGE_FS_TYPES, type ImageFsType } from '../domain/volume-kind';
import type { Capability } from '../domain/capability';

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
    const image = inlineSizeLimit(req.volume_context[SIZE_LIMIT_KEY]) === 'image';
    const fsType = inlineFsType(image, req.volume_context[EPHEMERAL_FS_TYPE_KEY], capability);
    const sizeBytes = ephemeralSize(req.volume_context[EPHEMERAL_SIZE_KEY], config);
    return { kind: 'ephemeral', cmd: { volumeId, targetPath, capability, readonly: req.readonly, sizeBytes, fsType } };
  }
  // We advertise STAGE_UNSTAGE_VOLUME, so the CO must name the staging path (CSI spec, NodePublishVolume).
  if (req.staging_target_path === '') throw new InvalidArgumentError('staging_target_path is required: this driver stages volumes');
  const stagingPath = validateHostPath('staging_target_path', req.staging_target_path, config.allowedPathRoot);
  if (stagingPath === targetPath) throw new InvalidArgumentError('target_path must differ from staging_target_path');
  return { kind: 'persistent', cmd: { volumeId, targetPath, stagingPath, capability, readonly: req.readonly } };
}

/**
 * How an inline volume keeps its size: `none` (or absent) a plain directory, the size recorded and reported but not
 * enforced; `image` a sparse image of exactly that size holding its own filesystem, loop-mounted (a write past it
 * fails with ENOSPC inside the pod). `quota` is refused: a project quota needs the state directory on an XFS or ext4
 * filesystem mounted with prjquota and a project ID allocated and released by the node, which only the controller
 * side does today (src/kinds/quota); a pod asking for it gets an error rather than silently less.
 */
function inlineSizeLimit(value: string | undefined): 'none' | 'image' {
  if (value === undefined || value === '' || value === 'none') return 'none';
  if (value === 'image') return 'image';
  if (value === 'quota') {
    throw new InvalidArgumentError(`volume attribute ${SIZE_LIMIT_KEY} "quota" is not supported for CSI inline volumes (the node allocates no project quotas): use ${SIZE_LIMIT_KEY} image, or a generic ephemeral volume of a StorageClass with ${SIZE_LIMIT_KEY} quota`);
  }
  throw new InvalidArgumentError(`volume attribute ${SIZE_LIMIT_KEY} ${JSON.stringify(value.slice(0, 64))} must be one of none, image for a CSI inline volume`);
}

/**
 * The filesystem of an inline image: volumeAttributes.fsType or the capability's fs_type (the pod's csi.fsType),
 * ext4 when neither names one. A plain directory has no filesystem of its own, so an fsType attribute there is a
 * mistake worth saying; the capability's fs_type is ignored for it, as before.
 */
function inlineFsType(image: boolean, attribute: string | undefined, capability: Capability): ImageFsType | null {
  const named = attribute ?? '';
  if (!image) {
    if (named !== '') throw new InvalidArgumentError(`volume attribute ${EPHEMERAL_FS_TYPE_KEY} applies only with ${SIZE_LIMIT_KEY} image (a plain inline directory has no filesystem of its own)`);
    return null;
  }
  if (named !== '' && capability.fsType !== '' && named !== capability.fsType) {
    throw new InvalidArgumentError(`volume attribute ${EPHEMERAL_FS_TYPE_KEY} ${JSON.stringify(named.slice(0, 64))} differs from the capability's fs_type ${JSON.stringify(capability.fsType.slice(0, 64))}`);
  }
  const wanted = named !== '' ? named : capability.fsType;
  if (wanted === '') return DEFAULT_IMAGE_FS;
  if (!(IMAGE_FS_TYPES as readonly string[]).includes(wanted)) {
    throw new InvalidArgumentError(`fsType ${JSON.stringify(wanted.slice(0, 64))} is not one an inline image volume can hold (${IMAGE_FS_TYPES.join(', ')})`);
  }
  return wanted as ImageFsType;
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
