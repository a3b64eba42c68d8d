import type { AccessType } from '../validate/capability';
import { VOLUME_KINDS, type VolumeKind } from '../volumes/model';

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

type Obj = Record<string, unknown>;

function obj(raw: unknown, what: string): Obj {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${what} is not an object`);
  return raw as Obj;
}

function str(o: Obj, key: string): string {
  if (typeof o[key] !== 'string') throw new Error(`field ${key} is not a string`);
  return o[key] as string;
}

function oneOf<T extends string>(o: Obj, key: string, allowed: readonly T[]): T {
  const v = str(o, key);
  if (!(allowed as readonly string[]).includes(v)) throw new Error(`field ${key} has unknown value ${JSON.stringify(v)}`);
  return v as T;
}

function strList(o: Obj, key: string): string[] {
  const v = o[key];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new Error(`field ${key} is not a list of strings`);
  return v as string[];
}

function strMap(o: Obj, key: string): Record<string, string> {
  const m = obj(o[key], key);
  for (const [k, v] of Object.entries(m)) if (typeof v !== 'string') throw new Error(`${key}.${k} is not a string`);
  return m as Record<string, string>;
}

const PHASES = ['creating', 'ready', 'deleting'] as const;

export function parseSnapshotRecord(raw: unknown): SnapshotRecord {
  const o = obj(raw, 'snapshot record');
  const sizeBytes = str(o, 'sizeBytes');
  if (!/^\d{1,19}$/.test(sizeBytes)) throw new Error('sizeBytes is not a decimal size');
  return {
    id: str(o, 'id'),
    name: str(o, 'name'),
    sourceVolumeId: str(o, 'sourceVolumeId'),
    sizeBytes,
    kind: oneOf(o, 'kind', VOLUME_KINDS),
    accessType: oneOf(o, 'accessType', ['mount', 'block'] as const),
    parameters: strMap(o, 'parameters'),
    groupId: o['groupId'] === null ? null : str(o, 'groupId'),
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
