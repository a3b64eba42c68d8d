import { InvalidArgumentError } from '../errors';
import type { ControllerExpandVolumeRequest__Output } from '../generated/csi/v1/ControllerExpandVolumeRequest';
import type { ControllerPublishVolumeRequest__Output } from '../generated/csi/v1/ControllerPublishVolumeRequest';
import type { CreateVolumeRequest__Output } from '../generated/csi/v1/CreateVolumeRequest';
import type { ControllerPublishCommand as PublishCommand, CreateVolumeCommand } from '../domain/commands';
import { parseCapabilities, parseCapability } from './capability';
import { parseSizeRange, type SizeRange } from './capacity';
import { validateName, validateNodeId, validateObjectId, validateStringMap } from './fields';
import { parseContentSource } from './snapshot-requests';
import { parseTopologyRequirement } from './topology';

/** Pure checks of CreateVolume: every field the spec requires, in the shape the domain wants. */
export function parseCreateVolume(req: CreateVolumeRequest__Output): CreateVolumeCommand {
  const name = validateName('name', req.name);
  const capabilities = parseCapabilities('volume_capabilities', req.volume_capabilities);
  return {
    name,
    range: parseSizeRange('capacity_range', req.capacity_range),
    capabilities,
    parameters: validateStringMap('parameters', req.parameters),
    mutableParameters: validateStringMap('mutable_parameters', req.mutable_parameters),
    topology: parseTopologyRequirement(req.accessibility_requirements),
    source: parseContentSource(req.volume_content_source),
  };
}

export function parseControllerPublish(req: ControllerPublishVolumeRequest__Output): PublishCommand {
  return {
    volumeId: validateObjectId('volume_id', req.volume_id),
    nodeId: validateNodeId('node_id', req.node_id),
    capability: parseCapability('volume_capability', req.volume_capability),
    readonly: req.readonly,
  };
}

export function parseExpandRange(req: ControllerExpandVolumeRequest__Output): SizeRange {
  if (!req.capacity_range) throw new InvalidArgumentError('capacity_range is required');
  const range = parseSizeRange('capacity_range', req.capacity_range);
  if (range.required === 0n && range.limit === 0n) throw new InvalidArgumentError('capacity_range must set required_bytes or limit_bytes');
  return range;
}
