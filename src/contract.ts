/**
 * The controller ↔ node contract (docs/architecture.md, "split deployment"): the only ways each side reaches into
 * state the other owns. Controller and node may run as separate processes (--mode controller / --mode node) over
 * one --state-dir; everything either side does to the other's state is a call on one of these two interfaces, built
 * once by compose() and handed to the side that makes the calls. Nothing else crosses:
 * - the node never writes a controller record and reads one only through `ControllerStateForNode`;
 * - the controller never writes a node record, mounts or unmounts, and touches the node's mounts and loop devices
 *   only through `NodeStateForController`.
 * Both implementations here assume one shared host (one state directory, one mount table, one set of loop
 * devices); a deployment over several hosts replaces exactly these two.
 */
import type { Logger } from './log';
import type { SizeRange } from './domain/size-range';
import type { Filesystems } from './os/filesystem';
import type { LoopDevices } from './os/loop';
import type { Mounter } from './os/mount';
import { findQuarantined, readRecordFile } from './state/record-store';
import type { StateLayout } from './volumes/layout';
import { backendFor, type VolumeBackend } from './volumes/backend';
import { parseVolumeRecord, type VolumeKind, type VolumeRecord } from './volumes/model';

/** What the node may read of the controller's state. */
export interface ControllerStateForNode {
  /**
   * The controller's record of a volume, read from disk at every call (the controller may be another process, so
   * an in-memory copy could be stale), or null when there is none. Rejects with the read's error (it carries an
   * errno `code`) or, for a record that was read and does not parse, with the parser's.
   */
  volumeRecord(volumeId: string): Promise<VolumeRecord | null>;
  /** Where start-up moved a damaged record of this volume (the quarantine), or null. */
  quarantinedVolumeRecord(volumeId: string): Promise<string | null>;
  /** What the node stages from: the volume's directory (dir, quota) or image file (block, image), as its kind says. */
  stageSource(volume: VolumeRecord): string;
  /** The sparse image of a block or image volume: what the node attaches to a loop device (even with no record). */
  imageFile(volumeId: string): string;
}

/**
 * Node-driven expansion (--controller-expansion=false): NodeExpandVolume asks the controller side to grow the
 * volume's storage and record, under the volume's controller lock, as ControllerExpandVolume would. Only where both
 * run in one process (--mode all); null otherwise.
 */
export type ExpandOnController = (volumeId: string, range: SizeRange, log: Logger) => Promise<{ capacityBytes: bigint }>;

/** What the controller may do to state the node owns (its loop devices and mounts of a volume's image). */
export interface NodeStateForController {
  /** Where the node has the filesystem inside this image mounted (through a loop device backed by it), or null. */
  mountOfImage(image: string): Promise<string | null>;
  /** fsfreeze / unfreeze of a mount found by `mountOfImage`, for the length of a snapshot copy (CreateSnapshot). */
  freeze(mountPoint: string): Promise<void>;
  thaw(mountPoint: string): Promise<void>;
  /** After the controller grew an image: every loop device backed by it sees the new size. */
  refreshLoopsOf(image: string): Promise<void>;
  /** Before the controller deletes an image: a loop device keeps a deleted file alive (and is not namespaced). */
  detachLoopsOf(image: string): Promise<void>;
}

/** The node's reads of controller records, straight from the shared state directory. */
export function controllerStateOnDisk(layout: StateLayout, backends: ReadonlyMap<VolumeKind, VolumeBackend>): ControllerStateForNode {
  return {
    stageSource: (volume) => backendFor({ backends }, volume.kind).stageSource(volume),
    imageFile: (volumeId) => layout.volumeImageFile(volumeId),
    volumeRecord: (volumeId) => readRecordFile(layout.volumeRecordFile(volumeId), parseVolumeRecord),
    quarantinedVolumeRecord: (volumeId) => findQuarantined(layout.quarantineDir, layout.volumeRecordsDir, volumeId),
  };
}

/** The controller's actions on the node's loop devices and mounts, on the host both share. */
export function nodeStateOnSharedHost(host: { loops: LoopDevices; mounter: Pick<Mounter, 'list'>; filesystems: Pick<Filesystems, 'freeze' | 'thaw'> }): NodeStateForController {
  const { loops, mounter, filesystems } = host;
  return {
    async mountOfImage(image) {
      const devices = new Set(await loops.backing(image));
      if (devices.size === 0) return null;
      const mount = (await mounter.list()).find((m) => devices.has(m.source) && m.root === '/');
      return mount?.mountPoint ?? null;
    },
    freeze: (mountPoint) => filesystems.freeze(mountPoint),
    thaw: (mountPoint) => filesystems.thaw(mountPoint),
    async refreshLoopsOf(image) {
      for (const dev of await loops.backing(image)) await loops.refreshSize(dev);
    },
    async detachLoopsOf(image) {
      for (const dev of await loops.backing(image)) await loops.detach(dev);
    },
  };
}
