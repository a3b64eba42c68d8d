import path from 'node:path';
import type { VolumeCapability } from '../../src/generated/csi/v1/VolumeCapability';
import { MiB } from '../../support/units';

export { MiB } from '../../support/units';

/**
 * The kinds of volume the fault harness, the fuzzer and the storms exercise: ONE list. A new kind of volume (a
 * StorageClass parameter that selects another backend, such as size-enforcing quota or image volumes) is one more
 * entry here, and every round, fuzz case and storm then covers it.
 *
 * `dataFile` says where a piece of the volume's data lives on disk under the state directory, so the harness can
 * check acknowledged writes without going through the driver: a directory volume keeps files as they are; a raw
 * block volume keeps its bytes in `disk.img` at the offset written. A kind whose bytes are not directly readable
 * (a filesystem inside an image) returns null and is checked through a published target instead.
 */
export interface VolumeKindSpec {
  name: string;
  accessType: 'mount' | 'block';
  /**
   * What a staged or published path shows: the volume's directory bound there, a loop device of its image bound as
   * a device file, or the filesystem inside its image mounted from a loop device.
   */
  storage: 'directory' | 'block-image' | 'filesystem-image';
  /** CreateVolume parameters that select this kind (a StorageClass's `parameters`). */
  parameters: Readonly<Record<string, string>>;
  /** Size a new volume of this kind asks for. */
  initialBytes: number;
  /** Growth step of ControllerExpandVolume, and the size it stops growing at. */
  expandStepBytes: number;
  maxBytes: number;
  dataFile(volumeOrSnapshotDir: string, key: DataKey): { file: string; offset: number } | null;
}

/** One acknowledged write: a named file on a filesystem volume, or a slot (1 MiB apart) on a block volume. */
export type DataKey = { file: string } | { slot: number };

export const SLOT_BYTES = MiB;

export const ALL_VOLUME_KINDS: readonly VolumeKindSpec[] = [
  {
    name: 'dir',
    accessType: 'mount',
    storage: 'directory',
    parameters: {},
    initialBytes: 4 * MiB,
    expandStepBytes: 4 * MiB,
    maxBytes: 64 * MiB,
    dataFile: (dir, key) => ('file' in key ? { file: path.join(dir, key.file), offset: 0 } : null),
  },
  {
    name: 'block',
    accessType: 'block',
    storage: 'block-image',
    parameters: {},
    initialBytes: 8 * MiB,
    expandStepBytes: 4 * MiB,
    maxBytes: 32 * MiB,
    dataFile: (dir, key) => ('slot' in key ? { file: path.join(dir, 'disk.img'), offset: key.slot * SLOT_BYTES } : null),
  },
  {
    // StorageClass sizeLimit: image — an ext4 filesystem in a sparse image, loop-mounted at NodeStage. Its files are
    // inside the image, so they are checked through published targets.
    name: 'image',
    accessType: 'mount',
    storage: 'filesystem-image',
    parameters: { sizeLimit: 'image' },
    initialBytes: 64 * MiB,
    expandStepBytes: 16 * MiB,
    maxBytes: 128 * MiB,
    dataFile: () => null,
  },
  {
    // StorageClass sizeLimit: quota — a directory under a project quota of its own. Needs the state directory on a
    // filesystem mounted with prjquota, which this project's hosts' kernels refuse: not in the default list; the
    // test VM (test/vm/suite.sh) runs it, and the crash harness then makes such a state filesystem (FAULTS_QUOTA_FS).
    name: 'quota',
    accessType: 'mount',
    storage: 'directory',
    parameters: { sizeLimit: 'quota' },
    initialBytes: 8 * MiB,
    expandStepBytes: 4 * MiB,
    maxBytes: 32 * MiB,
    dataFile: (dir, key) => ('file' in key ? { file: path.join(dir, key.file), offset: 0 } : null),
  },
];

export function capabilityOf(kind: VolumeKindSpec, mode: 'SINGLE_NODE_WRITER' | 'SINGLE_NODE_READER_ONLY' = 'SINGLE_NODE_WRITER'): VolumeCapability {
  return kind.accessType === 'block'
    ? { block: {}, access_mode: { mode } }
    : { mount: { fs_type: '', mount_flags: [] }, access_mode: { mode } };
}

export function kindByName(name: string): VolumeKindSpec {
  const kind = ALL_VOLUME_KINDS.find((k) => k.name === name);
  if (!kind) throw new Error(`unknown volume kind ${name}`);
  return kind;
}

/** The kinds a run exercises: FAULTS_KINDS (comma-separated names), by default every kind known to pass. */
export const VOLUME_KINDS: readonly VolumeKindSpec[] = (process.env['FAULTS_KINDS'] ?? 'dir,block,image').split(',').map((n) => kindByName(n.trim()));

/**
 * The filesystem the state directory must be on for the kinds of this run: quota volumes need XFS (default) or ext4
 * (`FAULTS_QUOTA_FS=ext4`) mounted with prjquota; null where any directory will do.
 */
export function projectQuotaStateFs(): 'xfs-prjquota' | 'ext4-prjquota' | null {
  if (!VOLUME_KINDS.some((k) => k.parameters['sizeLimit'] === 'quota')) return null;
  return process.env['FAULTS_QUOTA_FS'] === 'ext4' ? 'ext4-prjquota' : 'xfs-prjquota';
}
