import { InvalidArgumentError } from '../errors';
import { IMAGE_FS_TYPES, type ImageFsType, type VolumeKind } from './volume-kind';
import type { AccessType, Capability } from './capability';
import type { CreateVolumeCommand } from './commands';

/**
 * The StorageClass parameter that chooses how a filesystem volume's size is kept:
 *   none   a plain directory; nothing is enforced (the default)
 *   quota  a directory under a project quota on the state directory's filesystem
 *   image  a sparse image file holding its own filesystem, loop-mounted on the node
 * Raw block volumes are always exactly their size (a sparse image on a loop device) whatever it says.
 */
export const SIZE_LIMIT_KEY = 'sizeLimit';
export const SIZE_LIMITS = ['none', 'quota', 'image'] as const;
export type SizeLimit = (typeof SIZE_LIMITS)[number];

/** Kubernetes' StorageClass key for the filesystem type; external-provisioner turns it into the capability's fs_type. */
export const FS_TYPE_KEY = 'csi.storage.k8s.io/fstype';
export const DEFAULT_IMAGE_FS: ImageFsType = 'ext4';

export function parseSizeLimit(parameters: Readonly<Record<string, string>>): SizeLimit {
  const value = parameters[SIZE_LIMIT_KEY];
  if (value === undefined || value === '') return 'none';
  if (!(SIZE_LIMITS as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`parameter ${SIZE_LIMIT_KEY} ${JSON.stringify(value.slice(0, 64))} must be one of ${SIZE_LIMITS.join(', ')}`);
  }
  return value as SizeLimit;
}

/** The kind of volume a request asks for. */
export function kindFor(accessType: AccessType, parameters: Readonly<Record<string, string>>): VolumeKind {
  const limit = parseSizeLimit(parameters);
  if (accessType === 'block') return 'block';
  return limit === 'none' ? 'dir' : limit;
}

/**
 * The filesystem an image volume is made with: the capabilities' fs_type, else the fstype parameter (when a CO
 * passes it through), else ext4. Capabilities naming different filesystems, or one an image cannot hold, are
 * INVALID_ARGUMENT.
 */
export function imageFsType(caps: readonly Capability[], parameters: Readonly<Record<string, string>>): ImageFsType {
  const named = new Set(caps.map((c) => c.fsType).filter((t) => t !== ''));
  if (named.size > 1) throw new InvalidArgumentError(`volume_capabilities name different filesystems: ${[...named].join(', ')}`);
  const wanted = [...named][0] ?? parameters[FS_TYPE_KEY] ?? '';
  if (wanted === '') return DEFAULT_IMAGE_FS;
  if (!(IMAGE_FS_TYPES as readonly string[]).includes(wanted)) {
    throw new InvalidArgumentError(`fs_type ${JSON.stringify(wanted.slice(0, 64))} is not one an image volume can hold (${IMAGE_FS_TYPES.join(', ')})`);
  }
  return wanted as ImageFsType;
}

/** Kinds whose data is a directory tree (copied file by file) versus an image file (copied whole). */
const holdsImage = (kind: VolumeKind): boolean => kind === 'image' || kind === 'block';

/**
 * What the new volume is made as: the kind its parameters ask for, and for an image its filesystem. Restore and
 * clone copy the source's data as it is, so the kinds must hold data the same way: a plain or quota directory takes
 * a directory's files (and a quota volume gets its own limit), an image takes an image, and its filesystem is the
 * source's (CSI spec, CreateVolume: an incompatible source is INVALID_ARGUMENT). Only the image kind has an fsType.
 */
export function chooseKind(
  cmd: Pick<CreateVolumeCommand, 'capabilities' | 'parameters'>,
  accessType: AccessType,
  source: { kind: VolumeKind; fsType: ImageFsType | null } | null,
): { kind: VolumeKind; fsType: ImageFsType | null } {
  const kind = kindFor(accessType, cmd.parameters);
  const fsType = kind === 'image' ? imageFsType(cmd.capabilities, cmd.parameters) : null;
  if (!source) return { kind, fsType };
  if (holdsImage(source.kind) !== holdsImage(kind)) {
    throw new InvalidArgumentError(`the source is a ${source.kind} volume; its data cannot become a ${kind} volume`);
  }
  if (kind !== 'image') return { kind, fsType };
  const named = cmd.capabilities.some((c) => c.fsType !== '') || cmd.parameters['csi.storage.k8s.io/fstype'] !== undefined;
  if (named && source.fsType !== null && fsType !== source.fsType) {
    throw new InvalidArgumentError(`the source holds ${source.fsType}; it cannot be restored as ${fsType}`);
  }
  return { kind, fsType: source.fsType ?? fsType };
}

/** The filesystem a volume holds of its own (an image's), or null where it has none (directories, raw block). */
export function ownFilesystem(volume: { kind: VolumeKind; fsType?: ImageFsType | null }): ImageFsType | null {
  return volume.kind === 'image' ? (volume.fsType ?? DEFAULT_IMAGE_FS) : null;
}

/** Kinds whose root is a directory the driver makes on the host (ownership parameters apply: src/domain/ownership.ts). */
export const hasHostRoot = (kind: VolumeKind): boolean => kind === 'dir' || kind === 'quota';

/**
 * Kinds a class may put under one of --volume-roots (src/domain/dir-layout.ts): plain directories only. A quota needs
 * the state directory's filesystem (its project quotas); an image or block volume's file stays with the driver.
 */
export const mayLiveUnderRoot = (kind: VolumeKind): boolean => kind === 'dir';
