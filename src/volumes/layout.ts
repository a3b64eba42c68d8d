import { createHash } from 'node:crypto';
import path from 'node:path';

/** The file name of a volume's image inside its data directory (block and image kinds). */
export const BLOCK_IMAGE = 'disk.img';

/**
 * Where everything lives under --state-dir. Every path is built from validated IDs, so nothing a request says can
 * point outside this tree. Controller and node code alike take paths from here, never build them (who owns which
 * part: docs/architecture.md, "The controller <-> node contract").
 *
 *   volumes/<volume-id>/            the volume's data (dir, quota kinds: the tree itself)
 *   volumes/<volume-id>/disk.img    block, image kinds: the sparse image a loop device attaches
 *   ephemeral/<volume-id>/          node: an inline (CSI ephemeral) volume's data
 *   ephemeral/<volume-id>/disk.img  node: an inline volume with sizeLimit image: its image; fs/ is where it is mounted
 *   records/volumes/<id>.json       controller: one record per volume
 *   records/attachments/<id>.json   controller: one record per (volume, node) attachment
 *   records/node/<volume-id>.json   node: staging path and published targets of a volume on this node
 *   snapshots/<snapshot-id>/        a snapshot's copy of its volume's data
 *   records/snapshots/<id>.json     controller: one record per snapshot
 *   records/group-snapshots/<id>.json  controller: one record per group snapshot
 *   quarantine/                     records that could not be read, moved aside for a human
 *   space-reserve.<mode>            room kept so that deletes work on a full disk
 *   trash/                          snapshot data being removed in the background
 *   controller.lock, node.lock      one process per role (src/os/state-lock.ts)
 */
export class StateLayout {
  constructor(readonly root: string) {}

  get volumesDir(): string {
    return path.join(this.root, 'volumes');
  }

  volumeDataDir(volumeId: string): string {
    return path.join(this.volumesDir, volumeId);
  }

  /** Where a volume's data is: under a --volume-roots entry if its record says so, else volumes/<id>. */
  dataDirOf(volume: { readonly id: string; readonly dataDir?: string | null }): string {
    return volume.dataDir ?? this.volumeDataDir(volume.id);
  }

  /** The image file of a volume kept as one (block, image): the only place that names it. */
  volumeImageFile(volumeId: string): string {
    return path.join(this.volumeDataDir(volumeId), BLOCK_IMAGE);
  }

  /** An inline (ephemeral) volume's data, owned by the node alone. */
  ephemeralDataDir(volumeId: string): string {
    return path.join(this.root, 'ephemeral', volumeId);
  }

  /** An inline volume with `sizeLimit: image`: its sparse image, inside its data directory. */
  ephemeralImageFile(volumeId: string): string {
    return path.join(this.ephemeralDataDir(volumeId), BLOCK_IMAGE);
  }

  /** Where the node mounts an inline image volume's filesystem before binding it at the pod's target. */
  ephemeralMountDir(volumeId: string): string {
    return path.join(this.ephemeralDataDir(volumeId), 'fs');
  }

  /**
   * How mountinfo shows a bind of this volume's directory (persistent or inline): its root ends with the directory's
   * path below the state directory (the state directory may itself sit anywhere in its filesystem).
   */
  volumeMountRoots(volumeId: string): string[] {
    return [this.volumeDataDir(volumeId), this.ephemeralDataDir(volumeId)].map((dir) => `/${path.relative(this.root, dir)}`);
  }

  get volumeRecordsDir(): string {
    return path.join(this.root, 'records', 'volumes');
  }

  volumeRecordFile(volumeId: string): string {
    return path.join(this.volumeRecordsDir, `${volumeId}.json`);
  }

  get attachmentRecordsDir(): string {
    return path.join(this.root, 'records', 'attachments');
  }

  get nodeRecordsDir(): string {
    return path.join(this.root, 'records', 'node');
  }

  get snapshotsDir(): string {
    return path.join(this.root, 'snapshots');
  }

  snapshotDataDir(snapshotId: string): string {
    return path.join(this.snapshotsDir, snapshotId);
  }

  /** The image file of a snapshot of a volume kept as one (block, image): named beside volumeImageFile. */
  snapshotImageFile(snapshotId: string): string {
    return path.join(this.snapshotDataDir(snapshotId), BLOCK_IMAGE);
  }

  get snapshotRecordsDir(): string {
    return path.join(this.root, 'records', 'snapshots');
  }

  get groupSnapshotRecordsDir(): string {
    return path.join(this.root, 'records', 'group-snapshots');
  }

  /** Room kept for deletes on a full disk (src/state/space-reserve.ts): one per process role sharing the state dir. */
  spaceReserveFile(mode: string): string {
    return path.join(this.root, `space-reserve.${mode}`);
  }

  get quarantineDir(): string {
    return path.join(this.root, 'quarantine');
  }

  /** Data set aside for removal in the background (src/os/trash.ts). */
  get trashDir(): string {
    return path.join(this.root, 'trash');
  }
}

/** Node IDs are free text; attachment record names use a digest of them so they stay plain file names. */
export function attachmentId(volumeId: string, nodeId: string): string {
  return `${volumeId}.${createHash('sha256').update(nodeId).digest('hex').slice(0, 24)}`;
}
