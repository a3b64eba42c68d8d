import type { ControllerHandlers } from '../generated/csi/v1/Controller';
import type { ControllerGetCapabilitiesResponse } from '../generated/csi/v1/ControllerGetCapabilitiesResponse';
import type { ControllerGetVolumeResponse } from '../generated/csi/v1/ControllerGetVolumeResponse';
import type { GetCapacityResponse } from '../generated/csi/v1/GetCapacityResponse';
import type { ListVolumesResponse } from '../generated/csi/v1/ListVolumesResponse';
import type { ValidateVolumeCapabilitiesResponse } from '../generated/csi/v1/ValidateVolumeCapabilitiesResponse';
import type { Volume } from '../generated/csi/v1/Volume';
import { UnimplementedError } from '../errors';
import { unary, type AdapterContext } from '../grpc/unary';
import { parseCapabilities, parseCapability } from '../validate/capability';
import { parseControllerPublish, parseCreateVolume, parseExpandRange } from '../validate/controller-requests';
import { validateObjectId, validateStringMap } from '../validate/fields';
import { parseTopology } from '../validate/topology';
import { kindFor } from '../domain/kind-choice';
import { parseMaxEntries } from '../domain/paging';
import { Attacher } from '../volumes/attach';
import { createVolume, deleteVolume, expandVolume, modifyVolume, requireReadyVolume } from '../volumes/lifecycle';
import type { VolumeRecord } from '../volumes/model';
import { checkVolumeCapabilities, describeQuarantined, describeVolume, getCapacity, listVolumes, type QuarantinedView, type VolumeView } from '../volumes/queries';
import { nodeTopology } from '../volumes/topology';
import { checkStaticNode, isStaticVolumeId, parseStaticAttributes } from '../volumes/static';
import { controllerHealthCapabilities } from '../health/advertise';
import { controllerHealthHandlers } from './health';
import { snapshotHandlers } from './snapshots';
import type { SnapshotDeps } from '../snapshots/catalog';

type ControllerRpcType = 'CREATE_DELETE_VOLUME' | 'LIST_VOLUMES' | 'GET_CAPACITY' | 'EXPAND_VOLUME' | 'GET_VOLUME' | 'VOLUME_CONDITION'
  | 'GET_VOLUME_HEALTH' | 'LIST_VOLUME_HEALTH'
  | 'SINGLE_NODE_MULTI_WRITER' | 'MODIFY_VOLUME' | 'PUBLISH_UNPUBLISH_VOLUME' | 'PUBLISH_READONLY' | 'LIST_VOLUMES_PUBLISHED_NODES'
  | 'CREATE_DELETE_SNAPSHOT' | 'LIST_SNAPSHOTS' | 'GET_SNAPSHOT' | 'CLONE_VOLUME';

export function controllerCapabilities(deps: Pick<SnapshotDeps, 'config'>): ControllerGetCapabilitiesResponse {
  const types: ControllerRpcType[] = [
    'CREATE_DELETE_VOLUME',
    'LIST_VOLUMES',
    'GET_CAPACITY',
    // Off with --controller-expansion=false: the node then does the whole growth in NodeExpandVolume, and
    // csi-resizer only updates the PV (its "trivial resizer"), which is how a per-node deployment expands.
    ...(deps.config.controllerExpansion ? (['EXPAND_VOLUME'] as const) : []),
    'GET_VOLUME',
    ...controllerHealthCapabilities(deps.config.csiHealthApi),
    'SINGLE_NODE_MULTI_WRITER',
    'MODIFY_VOLUME',
    'CREATE_DELETE_SNAPSHOT',
    'LIST_SNAPSHOTS',
    'GET_SNAPSHOT',
    'CLONE_VOLUME',
    // Without external-attacher nothing calls ControllerPublish, so these are only true with attach on.
    ...(deps.config.enableAttach ? (['PUBLISH_UNPUBLISH_VOLUME', 'PUBLISH_READONLY', 'LIST_VOLUMES_PUBLISHED_NODES'] as const) : []),
  ];
  return { capabilities: types.map((type) => ({ rpc: { type } })) };
}

export function toCsiVolume(vol: VolumeRecord): Volume {
  return {
    volume_id: vol.id,
    capacity_bytes: vol.capacityBytes,
    volume_context: { 'hostpath.csi.dev/kind': vol.kind },
    content_source: toContentSource(vol),
    accessible_topology: [nodeTopology(vol.nodeId)],
  };
}

function toContentSource(vol: VolumeRecord): Volume['content_source'] {
  const src = vol.contentSource;
  if (!src) return null;
  return src.type === 'snapshot' ? { snapshot: { snapshot_id: src.id } } : { volume: { volume_id: src.id } };
}

function toVolumeEntry(view: VolumeView | QuarantinedView): ControllerGetVolumeResponse {
  if ('movedTo' in view) {
    // CSI spec, VolumeCondition: abnormal, with a message a human can act on; capacity is unknown (0).
    return {
      volume: { volume_id: view.volumeId, capacity_bytes: '0', accessible_topology: [nodeTopology(view.nodeId)] },
      status: {
        published_node_ids: [],
        volume_condition: { abnormal: true, message: `the volume's state record was unreadable and was moved to ${view.movedTo}; its data is left in place` },
      },
    };
  }
  return {
    volume: toCsiVolume(view.volume),
    status: { published_node_ids: view.publishedNodeIds, volume_condition: view.condition },
  };
}

function requireAttach(deps: SnapshotDeps): void {
  if (!deps.config.enableAttach) throw new UnimplementedError('ControllerPublish/Unpublish are off (--enable-attach=false)');
}

export function controllerHandlers(ctx: AdapterContext, deps: SnapshotDeps): ControllerHandlers {
  const attacher = new Attacher(deps);
  return {
    ...snapshotHandlers(ctx, deps),
    ...controllerHealthHandlers(ctx, deps),
    CreateVolume: unary(ctx, 'CreateVolume', async (req, log) => {
      const vol = await createVolume(deps, parseCreateVolume(req), log);
      return { volume: toCsiVolume(vol) };
    }),
    DeleteVolume: unary(ctx, 'DeleteVolume', async (req, log) => {
      await deleteVolume(deps, validateObjectId('volume_id', req.volume_id), log);
      return {};
    }),
    ControllerPublishVolume: unary(ctx, 'ControllerPublishVolume', async (req, log) => {
      requireAttach(deps);
      const cmd = parseControllerPublish(req);
      // A static volume has no record to attach; it may only go to the node that holds it (src/volumes/static.ts).
      if (isStaticVolumeId(cmd.volumeId)) checkStaticNode(cmd.volumeId, parseStaticAttributes(cmd.volumeId, req.volume_context), cmd.nodeId);
      else await attacher.publish(cmd, log);
      return { publish_context: {} };
    }),
    ControllerUnpublishVolume: unary(ctx, 'ControllerUnpublishVolume', async (req, log) => {
      requireAttach(deps);
      const volumeId = validateObjectId('volume_id', req.volume_id);
      if (!isStaticVolumeId(volumeId)) await attacher.unpublish(volumeId, req.node_id, log);
      return {};
    }),
    ValidateVolumeCapabilities: unary(ctx, 'ValidateVolumeCapabilities', async (req): Promise<ValidateVolumeCapabilitiesResponse> => {
      const volumeId = validateObjectId('volume_id', req.volume_id);
      const caps = parseCapabilities('volume_capabilities', req.volume_capabilities);
      const parameters = validateStringMap('parameters', req.parameters);
      const verdict = checkVolumeCapabilities(requireReadyVolume(deps, volumeId), caps, parameters);
      if (!verdict.confirmed) return { message: verdict.message };
      return {
        confirmed: {
          volume_context: req.volume_context,
          volume_capabilities: req.volume_capabilities,
          parameters: req.parameters,
          mutable_parameters: req.mutable_parameters,
        },
      };
    }),
    ListVolumes: unary(ctx, 'ListVolumes', async (req): Promise<ListVolumesResponse> => {
      const page = await listVolumes(deps, parseMaxEntries('max_entries', req.max_entries), req.starting_token);
      return { entries: page.entries.map(toVolumeEntry), next_token: page.nextToken };
    }),
    GetCapacity: unary(ctx, 'GetCapacity', async (req): Promise<GetCapacityResponse> => {
      // Every valid capability is served from the same free space; the class's sizeLimit says which kind it makes.
      const caps = req.volume_capabilities.map((c, i) => parseCapability(`volume_capabilities[${i}]`, c));
      const kind = kindFor(caps[0]?.accessType ?? 'mount', validateStringMap('parameters', req.parameters));
      const answer = await getCapacity(deps, parseTopology(req.accessible_topology), kind);
      return {
        available_capacity: answer.availableBytes.toString(),
        maximum_volume_size: { value: answer.maximumVolumeSize.toString() },
        minimum_volume_size: { value: answer.minimumVolumeSize.toString() },
      };
    }),
    ControllerGetCapabilities: unary(ctx, 'ControllerGetCapabilities', async () => controllerCapabilities(deps)),
    ControllerExpandVolume: unary(ctx, 'ControllerExpandVolume', async (req, log) => {
      if (!deps.config.controllerExpansion) throw new UnimplementedError('expansion is node-driven here (--controller-expansion=false): NodeExpandVolume grows volumes');
      const volumeId = validateObjectId('volume_id', req.volume_id);
      const result = await expandVolume(deps, volumeId, parseExpandRange(req), log);
      return { capacity_bytes: result.capacityBytes.toString(), node_expansion_required: result.nodeExpansionRequired };
    }),
    ControllerGetVolume: unary(ctx, 'ControllerGetVolume', async (req) => {
      const quarantined = describeQuarantined(deps, validateObjectId('volume_id', req.volume_id));
      if (quarantined) return toVolumeEntry(quarantined);
      const vol = requireReadyVolume(deps, req.volume_id);
      return toVolumeEntry(await describeVolume(deps, vol));
    }),
    ControllerModifyVolume: unary(ctx, 'ControllerModifyVolume', async (req, log) => {
      const volumeId = validateObjectId('volume_id', req.volume_id);
      await modifyVolume(deps, volumeId, validateStringMap('mutable_parameters', req.mutable_parameters), log);
      return {};
    }),
  };
}
