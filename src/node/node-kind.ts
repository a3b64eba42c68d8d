import type { Logger } from '../log';
import type { Capability } from '../domain/capability';
import type { NodeVolumeRecord, VolumeRecord } from '../volumes/model';
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
}
