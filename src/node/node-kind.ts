import type { Logger } from '../log';
import type { Capability } from '../domain/capability';
import type { EphemeralPublishCommand } from '../domain/commands';
import type { HealthFinding } from '../domain/health';
import type { VolumeUsage } from '../volumes/backend';
import type { ImageFsType, NodeVolumeRecord, VolumeRecord } from '../volumes/model';
import type { NodeDeps } from './node-deps';

/**
 * The node half of a volume kind (src/kinds/<kind>/node.ts): what only the kind knows on the node. The node's
 * kind-independent code (locks, records, path checks, publish, unpublish) calls it and never branches on the kind.
 */
export interface NodeKindHalf {
  /** Staged on a loop device attached to the volume's image (block, image): unstage detaches it. */
  readonly onLoop: boolean;
  /**
   * CSI spec, NodeStageVolume, once the volume is loaded, its access type checked and the staging path confined:
   * makes the volume available at `stagingPath` and records it in `record`. A repeat answers OK.
   */
  stage(deps: NodeDeps, vol: VolumeRecord, record: NodeVolumeRecord, stagingPath: string, cap: Capability, log: Logger): Promise<void>;
  /** NodeExpandVolume after the storage grew: what the node itself must grow (an image's filesystem), if anything. */
  grow?(deps: NodeDeps, vol: VolumeRecord, mountPoint: string, log: Logger): Promise<void>;
  /** At start-up, after loop devices are back: puts back what a reboot took from staged volumes; returns how many. */
  restoreStaged?(deps: NodeDeps, log: Logger): Promise<number>;
  /** CSI inline volumes of this kind (the image kind: `sizeLimit: image`); src/node/ephemeral.ts orchestrates them. */
  readonly inline?: InlineKindHalf;
}

/**
 * A kind's steps for a CSI inline volume, under the volume's lock, the node record already on disk. Every step is
 * idempotent: a publish or unpublish retried after a crash at any point finishes the job.
 */
export interface InlineKindHalf {
  /** FAILED_PRECONDITION before anything is made when this node cannot hold the filesystem asked for. */
  requireSupported(deps: NodeDeps, fsType: ImageFsType): Promise<void>;
  /** Makes what is missing and binds it at the target; returns the record as it now stands (target not yet in it). */
  publish(deps: NodeDeps, cmd: EphemeralPublishCommand, record: NodeVolumeRecord, log: Logger): Promise<NodeVolumeRecord>;
  /** After the last target is gone: undoes what the host holds (mounts, loop devices) before the data is removed. */
  release(deps: NodeDeps, record: NodeVolumeRecord, log: Logger): Promise<void>;
  /** NodeGetVolumeStats of the volume mounted at `volumePath`. */
  usage(deps: NodeDeps, volumePath: string): Promise<VolumeUsage>;
  /** Health of the volume's storage and its own mount (targets are checked by the caller). */
  findings(deps: NodeDeps, record: NodeVolumeRecord): Promise<HealthFinding[]>;
  /** Whether the volume shows at some mount besides its own: a target bound before a crash recorded it. */
  mountedElsewhere(deps: NodeDeps, record: NodeVolumeRecord): Promise<boolean>;
  /** At start-up, loop devices back: puts back what a reboot took; true when it did something. */
  restore(deps: NodeDeps, record: NodeVolumeRecord, log: Logger): Promise<boolean>;
}
