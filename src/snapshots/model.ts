import type { AccessType } from '../domain/capability';
import { IMAGE_FS_TYPES, VOLUME_KINDS, type ImageFsType, type VolumeKind } from '../volumes/model';
import { decimalSize, obj, oneOf, optStr, str, strList, strMap } from '../state/record-fields';

export type SnapshotPhase = 'creating' | 'ready' | 'deleting';

/** A point-in-time copy of one volume, kept under the state directory. */
export interface SnapshotRecord {
  id: string;
  name: string;
  sourceVolumeId: string;
  /** Capacity of the source at the time of the snapshot: the smallest volume it can be restored into. */
  sizeBytes: string;
  /** Kind and access type of the source: a restore gets the same. */
  kind: VolumeKind;
  accessType: AccessType;
  /** 'image' sources: the filesystem inside the copied image (a restore carries the same). */
  fsType?: ImageFsType | null;
  parameters: Record<string, string>;
  /** Set when the snapshot belongs to a group snapshot; it is then deleted only with its group. */
  groupId: string | null;
  phase: SnapshotPhase;
  createdAt: string;
}

/** Snapshots of several volumes taken together, sharing one creation time. */
export interface GroupSnapshotRecord {
  id: string;
  name: string;
  /** Sorted, so the same set in another order is the same request. */
  sourceVolumeIds: string[];
  snapshotIds: string[];
  parameters: Record<string, string>;
  phase: SnapshotPhase;
  createdAt: string;
}

const PHASES = ['creating', 'ready', 'deleting'] as const;

export function parseSnapshotRecord(raw: unknown): SnapshotRecord {
  const o = obj(raw, 'snapshot record');
  const sizeBytes = decimalSize(o, 'sizeBytes');
  return {
    id: str(o, 'id'),
    name: str(o, 'name'),
    sourceVolumeId: str(o, 'sourceVolumeId'),
    sizeBytes,
    kind: oneOf(o, 'kind', VOLUME_KINDS),
    accessType: oneOf(o, 'accessType', ['mount', 'block'] as const),
    fsType: o['fsType'] === undefined || o['fsType'] === null ? null : oneOf(o, 'fsType', IMAGE_FS_TYPES),
    parameters: strMap(o, 'parameters'),
    groupId: optStr(o, 'groupId'),
    phase: oneOf(o, 'phase', PHASES),
    createdAt: str(o, 'createdAt'),
  };
}

export function parseGroupSnapshotRecord(raw: unknown): GroupSnapshotRecord {
  const o = obj(raw, 'group snapshot record');
  return {
    id: str(o, 'id'),
    name: str(o, 'name'),
    sourceVolumeIds: strList(o, 'sourceVolumeIds'),
    snapshotIds: strList(o, 'snapshotIds'),
    parameters: strMap(o, 'parameters'),
    phase: oneOf(o, 'phase', PHASES),
    createdAt: str(o, 'createdAt'),
  };
}
