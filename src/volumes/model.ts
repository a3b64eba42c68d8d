import path from 'node:path';
import { ACCESS_MODES, type AccessMode, type AccessType } from '../domain/capability';
import { IMAGE_FS_TYPES, VOLUME_KINDS, type ContentSource, type ImageFsType, type VolumeKind } from '../domain/volume-kind';
import { bool, decimalSize, obj, oneOf, optStr, str, strMap } from '../state/record-fields';

export { IMAGE_FS_TYPES, VOLUME_KINDS, type ContentSource, type ImageFsType, type VolumeKind } from '../domain/volume-kind';

/**
 * creating: record written, data not yet in place (rolled back at start-up: the CO never got an answer).
 * ready: usable. deleting: data being removed (finished at start-up).
 */
export type VolumePhase = 'creating' | 'ready' | 'deleting';


export interface VolumeRecord {
  id: string;
  name: string;
  /** Decimal bytes (int64 does not fit a JSON number). */
  capacityBytes: string;
  kind: VolumeKind;
  accessType: AccessType;
  parameters: Record<string, string>;
  mutableParameters: Record<string, string>;
  /** The node whose disk holds the data; the volume's accessible topology. */
  nodeId: string;
  contentSource: ContentSource | null;
  phase: VolumePhase;
  createdAt: string;
  /** 'quota' volumes: the project ID whose limit is the volume's size; allocated before the record is first written. */
  projectId?: number | null;
  /** 'image' volumes: the filesystem inside the image. */
  fsType?: ImageFsType | null;
  /**
   * 'dir' volumes a class put under one of --volume-roots (src/domain/dir-layout.ts): the directory's real path,
   * fixed at create. Absent: the volume lives at volumes/<id> in the state directory (StateLayout.dataDirOf).
   */
  dataDir?: string | null;
}

/** One ControllerPublishVolume that succeeded: volume X is attached to node Y. */
export interface AttachmentRecord {
  id: string;
  volumeId: string;
  nodeId: string;
  readonly: boolean;
  mode: AccessMode;
  createdAt: string;
}

/** A volume's use on this node: where it is staged and the targets it is published at. */
export interface NodeVolumeRecord {
  id: string;
  stagingPath: string | null;
  /** Raw block volumes: the loop device attached at stage time (re-attached at start-up after a reboot). */
  loopDevice?: string | null;
  /**
   * Image volumes: set just before an offline resize2fs starts and cleared when it ends, so a stage retried after a
   * crash knows the filesystem may be half-resized and repairs it fully before anything mounts it.
   */
  offlineResize?: boolean;
  /** Set for a CSI inline volume, which exists only on this node (created at NodePublish, deleted at unpublish). */
  ephemeral?: EphemeralInfo | null;
  /** Set for a static (pre-provisioned) volume at its first stage: the real path of its directory (src/volumes/static.ts). */
  staticDir?: string | null;
  targets: Record<string, NodeTarget>;
}

/**
 * An inline volume's size and, for one with `sizeLimit: image`, the filesystem of its image
 * (ephemeral/<id>/disk.img) and whether mkfs has finished on it: until then a retried publish makes it again.
 */
export interface EphemeralInfo {
  capacityBytes: string;
  fsType?: ImageFsType;
  formatted?: boolean;
}

export interface NodeTarget {
  readonly: boolean;
  mode: AccessMode;
  /** A block volume published read-only has a read-only loop device of its own, detached at unpublish. */
  loopDevice?: string | null;
}

export function parseVolumeRecord(raw: unknown): VolumeRecord {
  const o = obj(raw, 'volume record');
  const capacityBytes = decimalSize(o, 'capacityBytes');
  return {
    id: str(o, 'id'),
    name: str(o, 'name'),
    capacityBytes,
    kind: oneOf(o, 'kind', VOLUME_KINDS),
    accessType: oneOf(o, 'accessType', ['mount', 'block'] as const),
    parameters: strMap(o, 'parameters'),
    mutableParameters: strMap(o, 'mutableParameters'),
    nodeId: str(o, 'nodeId'),
    contentSource: parseContentSource(o['contentSource']),
    phase: oneOf(o, 'phase', ['creating', 'ready', 'deleting'] as const),
    createdAt: str(o, 'createdAt'),
    projectId: optProjectId(o),
    fsType: o['fsType'] === undefined || o['fsType'] === null ? null : oneOf(o, 'fsType', IMAGE_FS_TYPES),
    ...optDataDir(o),
  };
}

/** Only a normalised absolute path is ever written; anything else is a damaged record (quarantined at load). */
function optDataDir(o: Record<string, unknown>): { dataDir?: string } {
  const v = optStr(o, 'dataDir');
  if (v === null) return {};
  if (!path.isAbsolute(v) || path.normalize(v) !== v || v === '/' || v.includes('\0')) throw new Error('field dataDir is not a normalised absolute path');
  return { dataDir: v };
}

/** Project IDs are 32-bit on XFS and ext4; 0 means "no project" and is never ours. */
function optProjectId(o: Record<string, unknown>): number | null {
  const v = o['projectId'];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0 || v > 0xffffffff) throw new Error('field projectId is not a project ID');
  return v;
}

function parseContentSource(raw: unknown): ContentSource | null {
  if (raw === undefined || raw === null) return null;
  const o = obj(raw, 'contentSource');
  return { type: oneOf(o, 'type', ['snapshot', 'volume'] as const), id: str(o, 'id') };
}

export function parseAttachmentRecord(raw: unknown): AttachmentRecord {
  const o = obj(raw, 'attachment record');
  return {
    id: str(o, 'id'),
    volumeId: str(o, 'volumeId'),
    nodeId: str(o, 'nodeId'),
    readonly: bool(o, 'readonly'),
    mode: oneOf(o, 'mode', ACCESS_MODES),
    createdAt: str(o, 'createdAt'),
  };
}

export function parseNodeVolumeRecord(raw: unknown): NodeVolumeRecord {
  const o = obj(raw, 'node volume record');
  const stagingPath = optStr(o, 'stagingPath');
  const targets: NodeVolumeRecord['targets'] = {};
  for (const [p, t] of Object.entries(obj(o['targets'], 'targets'))) {
    const to = obj(t, `targets.${p}`);
    targets[p] = { readonly: bool(to, 'readonly'), mode: oneOf(to, 'mode', ACCESS_MODES), loopDevice: optStr(to, 'loopDevice') };
  }
  const loopDevice = optStr(o, 'loopDevice');
  const eph = o['ephemeral'] === undefined || o['ephemeral'] === null ? null : obj(o['ephemeral'], 'ephemeral');
  const ephemeral = eph ? parseEphemeral(eph) : null;
  const offlineResize = o['offlineResize'] === true;
  const staticDir = optDataDir({ dataDir: o['staticDir'] }).dataDir;
  return { id: str(o, 'id'), stagingPath, loopDevice, ephemeral, targets, ...(offlineResize ? { offlineResize } : {}), ...(staticDir ? { staticDir } : {}) };
}

function parseEphemeral(o: Record<string, unknown>): EphemeralInfo {
  const capacityBytes = str(o, 'capacityBytes');
  if (o['fsType'] === undefined || o['fsType'] === null) return { capacityBytes };
  return { capacityBytes, fsType: oneOf(o, 'fsType', IMAGE_FS_TYPES), formatted: o['formatted'] === true };
}
