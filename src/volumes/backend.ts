import { InternalError } from '../errors';
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
 * One way of keeping a volume's bytes. Handlers never know which kind they hold: plain directories, raw block files
 * on loop devices, quota-limited directories and loop-mounted images implement the same interface.
 * Every method is idempotent, because every CSI call may be retried after a crash.
 */
export interface VolumeBackend {
  readonly kind: VolumeKind;
  /** True when a filesystem inside the volume must also be grown on the node after expand (CSI node_expansion_required). */
  readonly growsOnNode: boolean;
  /** Why this node cannot make volumes of this kind (found at start-up), or null when it can. */
  unsupportedReason(): string | null;
  /**
   * Gives a new record what this kind needs before it is first written (a quota's project ID). Synchronous, so that
   * no other create can be handed the same thing in between.
   */
  prepare(volume: VolumeRecord): VolumeRecord;
  /** Creates the volume's storage; succeeds if it already exists. */
  create(volume: VolumeRecord): Promise<void>;
  /** Removes the volume's storage and data (and gives back what prepare took); succeeds if already gone. */
  remove(volume: VolumeRecord): Promise<void>;
  /** Makes the storage hold at least `capacityBytes` (the limit raised, the image grown). */
  expand(volume: VolumeRecord, capacityBytes: bigint): Promise<void>;
  condition(volume: VolumeRecord): Promise<VolumeCondition>;
  /**
   * Space and inodes used by this volume alone (not its host filesystem). `mountedAt` is a path where the node has
   * the volume mounted, when the caller knows one (kinds with a filesystem of their own read it there).
   */
  usage(volume: VolumeRecord, mountedAt?: string): Promise<VolumeUsage>;
  /** Bytes promised to the volume that it does not use yet: the host filesystem must keep them free (GetCapacity). */
  unusedReservation(volume: VolumeRecord): Promise<bigint>;
  /** Copies the volume's data into the empty directory `destDir` (a snapshot). */
  snapshotTo(volume: VolumeRecord, destDir: string): Promise<void>;
  /**
   * Undoes what a snapshotTo cut short by a crash may have left on the host (image: its filesystem frozen, with
   * every writer in the volume blocked). Called at start-up for each snapshot that never answered.
   */
  afterInterruptedSnapshot?(volume: VolumeRecord): Promise<void>;
  /** Fills a just-created volume with the data of a snapshot or volume directory (restore, clone). */
  populateFrom(volume: VolumeRecord, sourceDir: string): Promise<void>;
  /** What the node exposes: the directory bind-mounted at the staging path, or the image a loop device attaches. */
  stageSource(volume: VolumeRecord): string;
}

/** The controller half of a kind; controller and node code alike look kinds up here. */
export function backendFor(deps: { readonly backends: ReadonlyMap<VolumeKind, VolumeBackend> }, kind: VolumeKind): VolumeBackend {
  const backend = deps.backends.get(kind);
  if (!backend) throw new InternalError(`no backend for volume kind ${kind}`);
  return backend;
}
