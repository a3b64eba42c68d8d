import type { Capability } from '../domain/capability';
import { decodeToken, encodeToken } from '../domain/paging';
import { controllerFindings } from './health';
import { toCondition } from '../domain/health';
import type { VolumeCondition } from './backend';
import { backendFor, type ControllerDeps } from './controller-deps';
import type { VolumeKind, VolumeRecord } from './model';
import { reservedBytes } from './reservations';
import type { TopologySegments } from '../domain/topology';
import { ownFilesystem } from '../domain/kind-choice';
import { topologyMatchesNode } from './topology';

export interface VolumeView {
  volume: VolumeRecord;
  publishedNodeIds: string[];
  condition: VolumeCondition;
}

export async function describeVolume(deps: ControllerDeps, volume: VolumeRecord): Promise<VolumeView> {
  // The v1.12 VolumeCondition (ListVolumes, ControllerGetVolume) is the v1.13 health findings folded into one flag.
  const condition = toCondition(await controllerFindings(deps, volume), 'volume is healthy');
  return { volume, publishedNodeIds: deps.catalog.attachmentsOf(volume.id).map((a) => a.nodeId), condition };
}

/**
 * A volume whose record was unreadable at start-up: reported (so the CO and the health monitor see it), abnormal,
 * with what is known — its ID and where it lives. Its size and the rest of the record are gone.
 */
export interface QuarantinedView {
  volumeId: string;
  movedTo: string;
  nodeId: string;
}

export function describeQuarantined(deps: ControllerDeps, volumeId: string): QuarantinedView | null {
  const movedTo = deps.catalog.quarantinedVolume(volumeId);
  return movedTo === undefined ? null : { volumeId, movedTo, nodeId: deps.config.nodeId };
}

export interface VolumePage {
  entries: Array<VolumeView | QuarantinedView>;
  nextToken: string;
}

/**
 * A page of ready (and quarantined) volumes in ID order, resuming after the token's key (CSI spec, ListVolumes). Read
 * from the catalog's sorted ID index: O(log N + page), not a sort of every ID per call.
 */
export async function listVolumes(deps: ControllerDeps, maxEntries: number, startingToken: string): Promise<VolumePage> {
  const listed = (id: string): boolean => deps.catalog.getVolume(id)?.phase === 'ready' || deps.catalog.volumes.quarantined.has(id);
  const page = deps.catalog.idsInOrder.page(decodeToken(startingToken), maxEntries, listed);
  const entries = await Promise.all(
    page.keys.map((id) => {
      const vol = deps.catalog.getVolume(id);
      return vol ? describeVolume(deps, vol) : describeQuarantined(deps, id)!;
    }),
  );
  return { entries, nextToken: page.more ? encodeToken(page.keys[page.keys.length - 1]!) : '' };
}

export interface CapacityAnswer {
  availableBytes: bigint;
  maximumVolumeSize: bigint;
  minimumVolumeSize: bigint;
}

/**
 * CSI spec, GetCapacity: the free space of the state directory's filesystem (every kind lives there) less what is
 * promised to volumes that reserve space and not used yet; 0 for another node's topology, or for a kind this node
 * cannot make (so a scheduler tracking capacity never picks it for that class).
 */
export async function getCapacity(deps: ControllerDeps, topology: TopologySegments | null, kind: VolumeKind = 'dir'): Promise<CapacityAnswer> {
  const none = { availableBytes: 0n, maximumVolumeSize: 0n, minimumVolumeSize: 0n };
  if (topology && !topologyMatchesNode(topology, deps.config.nodeId)) return none;
  if (backendFor(deps, kind).unsupportedReason() !== null) return none;
  const [fs, reserved] = await Promise.all([deps.statFs(deps.layout.volumesDir), reservedBytes(deps)]);
  const free = fs.availableBytes > reserved ? fs.availableBytes - reserved : 0n;
  const max = deps.config.maxVolumeSize;
  return {
    availableBytes: free,
    maximumVolumeSize: max !== null && max < free ? max : free,
    minimumVolumeSize: 0n,
  };
}

export interface CapabilityVerdict {
  confirmed: boolean;
  message: string;
}

/** CSI spec, ValidateVolumeCapabilities: confirm only what this volume really supports. */
export function checkVolumeCapabilities(volume: VolumeRecord, caps: Capability[], parameters: Record<string, string>): CapabilityVerdict {
  const wrongType = caps.find((c) => c.accessType !== volume.accessType);
  if (wrongType) return { confirmed: false, message: `volume is a ${volume.accessType} volume, not ${wrongType.accessType}` };
  // An image volume holds one filesystem made at create; a capability naming another cannot be honoured (an empty
  // fs_type leaves the choice to the plugin, CSI spec MountVolume). Directories have no filesystem of their own.
  const own = ownFilesystem(volume);
  const otherFs = own === null ? undefined : caps.find((c) => c.fsType !== '' && c.fsType !== own);
  if (otherFs) return { confirmed: false, message: `volume holds ${own}, not ${otherFs.fsType}` };
  const differing = Object.keys(parameters).filter((k) => volume.parameters[k] !== parameters[k]);
  if (differing.length > 0) return { confirmed: false, message: `parameters differ from the volume's: ${differing.join(', ')}` };
  return { confirmed: true, message: '' };
}

