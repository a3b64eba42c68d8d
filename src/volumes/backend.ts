import type { VolumeKind, VolumeRecord } from './model';

export interface VolumeCondition {
  abnormal: boolean;
  message: string;
}

export interface VolumeUsage {
  totalBytes: bigint;
  usedBytes: bigint;
  availableBytes: bigint;
  /** null where inodes mean nothing (raw block volumes). */
  totalInodes: bigint | null;
  usedInodes: bigint | null;
  availableInodes: bigint | null;
}

/**
 * One way of keeping a volume's bytes. Handlers never know which kind they hold: plain directories today; raw block
 * files on loop devices, quota-limited directories and loop-mounted images implement the same interface.
 * Every method is idempotent, because every CSI call may be retried after a crash.
 */
export interface VolumeBackend {
  readonly kind: VolumeKind;
  /** Creates the volume's storage; succeeds if it already exists. */
  create(volume: VolumeRecord): Promise<void>;
  /** Removes the volume's storage and data; succeeds if already gone. */
  remove(volume: VolumeRecord): Promise<void>;
  /** Makes the storage hold at least `capacityBytes`. */
  expand(volume: VolumeRecord, capacityBytes: bigint): Promise<void>;
  condition(volume: VolumeRecord): Promise<VolumeCondition>;
  /** Space and inodes used by this volume alone (not its host filesystem). */
  usage(volume: VolumeRecord): Promise<VolumeUsage>;
  /** Copies the volume's data into the empty directory `destDir` (a snapshot). */
  snapshotTo(volume: VolumeRecord, destDir: string): Promise<void>;
  /** Fills a just-created volume with the data of a snapshot or volume directory (restore, clone). */
  populateFrom(volume: VolumeRecord, sourceDir: string): Promise<void>;
  /** What the node exposes: the directory bind-mounted at the staging path, or the image a loop device attaches. */
  stageSource(volume: VolumeRecord): string;
}
