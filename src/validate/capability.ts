import { InvalidArgumentError } from '../errors';
import type { VolumeCapability__Output } from '../generated/csi/v1/VolumeCapability';

export const ACCESS_MODES = [
  'SINGLE_NODE_WRITER',
  'SINGLE_NODE_READER_ONLY',
  'MULTI_NODE_READER_ONLY',
  'MULTI_NODE_SINGLE_WRITER',
  'MULTI_NODE_MULTI_WRITER',
  'SINGLE_NODE_SINGLE_WRITER',
  'SINGLE_NODE_MULTI_WRITER',
] as const;

export type AccessMode = (typeof ACCESS_MODES)[number];
export type AccessType = 'mount' | 'block';

/** A volume capability after validation: the oneof resolved, the enum known. */
export interface Capability {
  accessType: AccessType;
  mode: AccessMode;
  fsType: string;
  mountFlags: string[];
  mountGroup: string;
}

const MOUNT_FLAG = /^[A-Za-z0-9_.,=:+-]{1,256}$/;

export function isReadOnlyMode(mode: AccessMode): boolean {
  return mode === 'SINGLE_NODE_READER_ONLY' || mode === 'MULTI_NODE_READER_ONLY';
}

export function parseCapability(field: string, cap: VolumeCapability__Output | null | undefined): Capability {
  if (!cap) throw new InvalidArgumentError(`${field} is required`);
  const rawMode = cap.access_mode?.mode;
  if (!(ACCESS_MODES as readonly unknown[]).includes(rawMode)) {
    throw new InvalidArgumentError(`${field}.access_mode ${JSON.stringify(rawMode ?? null)} is not a known access mode`);
  }
  const mode = rawMode as AccessMode;
  if (cap.access_type === 'block') return { accessType: 'block', mode, fsType: '', mountFlags: [], mountGroup: '' };
  if (cap.access_type !== 'mount' || !cap.mount) throw new InvalidArgumentError(`${field} must set access_type mount or block`);
  const flags = cap.mount.mount_flags;
  const bad = flags.find((f) => !MOUNT_FLAG.test(f));
  if (bad !== undefined) throw new InvalidArgumentError(`${field}.mount.mount_flags has an invalid flag ${JSON.stringify(bad.slice(0, 64))}`);
  return { accessType: 'mount', mode, fsType: cap.mount.fs_type, mountFlags: [...flags], mountGroup: cap.mount.volume_mount_group };
}

export function parseCapabilities(field: string, caps: readonly VolumeCapability__Output[]): Capability[] {
  if (caps.length === 0) throw new InvalidArgumentError(`${field} is required`);
  return caps.map((c, i) => parseCapability(`${field}[${i}]`, c));
}
