import { InvalidArgumentError } from '../errors';
import type { VolumeCapability__Output } from '../generated/csi/v1/VolumeCapability';
import { ACCESS_MODES, type AccessMode, type Capability } from '../domain/capability';

export { ACCESS_MODES, isReadOnlyMode, type AccessMode, type AccessType, type Capability } from '../domain/capability';


const MOUNT_FLAG = /^[A-Za-z0-9_.,=:+-]{1,256}$/;


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
