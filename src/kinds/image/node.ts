import { FailedPreconditionError, InvalidArgumentError } from '../../errors';
import type { Logger } from '../../log';
import { FilesystemDamagedError, OnlineGrowRefusedError } from '../../os/filesystem';
import type { HostFs } from '../../os/host-fs';
import type { Capability } from '../../domain/capability';
import { fsTypeOf } from './controller';
import type { ImageFsType, NodeVolumeRecord, VolumeRecord } from '../../volumes/model';
import { currentLoop, detachLoops, ensureLoop } from '../../node/block';
import { mountStateAt } from '../../node/mounts';
import { loadVolume, type NodeDeps } from '../../node/node-deps';
import type { NodeKindHalf } from '../../node/node-kind';
import { imageInline } from './inline';

/**
 * NodeStageVolume of an image volume: its image on a loop device, the filesystem grown to fill the image (a restore
 * into a bigger volume, an expansion while unstaged) and mounted at the staging path. The node record names the
 * loop device before the mount, so a crash in between leaves something unstage (or start-up) finds.
 */
export async function stageImage(deps: NodeDeps, vol: VolumeRecord, record: NodeVolumeRecord, stagingPath: string, cap: Capability, log: Logger): Promise<void> {
  const fsType = fsTypeOf(vol);
  if (cap.fsType !== '' && cap.fsType !== fsType) throw new InvalidArgumentError(`volume ${vol.id} holds ${fsType}, not ${cap.fsType}`);
  const here = await mountStateAt(deps, stagingPath, vol.id);
  if (here === 'foreign') throw new FailedPreconditionError(`staging path ${stagingPath} already has another mount`);
  if (here === 'none' && record.stagingPath !== null && record.stagingPath !== stagingPath && (await mountStateAt(deps, record.stagingPath, vol.id)) === 'ours') {
    throw new FailedPreconditionError(`volume ${vol.id} is already staged at ${record.stagingPath}`);
  }
  const device = await ensureLoop(deps, vol.id, log);
  let staged: NodeVolumeRecord = { ...record, stagingPath, loopDevice: device };
  await deps.nodeRecords.put(staged);
  if (here === 'none') {
    try {
      staged = await mountImageFs(deps, imageOnNode(deps, vol), staged, device, stagingPath, log);
    } catch (err) {
      await detachLoops(deps, vol.id, log).catch(() => undefined);
      // offlineResize stays as readyToMount last wrote it: a retry must know an interrupted resize needs a full repair.
      const offlineResize = deps.nodeRecords.get(vol.id)?.offlineResize === true;
      await deps.nodeRecords.put({ ...record, loopDevice: null, ...(offlineResize ? { offlineResize } : {}) });
      throw err;
    }
    await openFreshRoot(deps.fs, stagingPath);
    // xfs only grows mounted (ext4 grew offline in readyToMount, so this is a no-op for it).
    await deps.filesystems.grow(device, stagingPath, fsType);
    log.info({ volumeId: vol.id, stagingPath, device, fsType }, 'image volume staged');
  }
  // Already staged: CSI spec, NodeStageVolume is idempotent, so a repeat answers OK with the filesystem as it is.
  // Growing it is NodeExpandVolume's job; trying here made every repeat fail where online growth is refused.
}

/** What the node's image steps need to know of an image, persistent (here) or inline (src/kinds/image/inline.ts). */
export interface ImageOnNode {
  volumeId: string;
  image: string;
  fsType: ImageFsType;
}

const imageOnNode = (deps: NodeDeps, vol: VolumeRecord): ImageOnNode => ({ volumeId: vol.id, image: deps.controllerState.stageSource(vol), fsType: fsTypeOf(vol) });

/**
 * Mounts the filesystem of an image attached at `device` on `mountPoint`, after readyToMount: the staging mount
 * of a persistent image volume, the node's own mount of an inline one. Returns the record as readyToMount left it.
 */
export async function mountImageFs(deps: NodeDeps, img: ImageOnNode, record: NodeVolumeRecord, device: string, mountPoint: string, log: Logger): Promise<NodeVolumeRecord> {
  const ready = await readyToMount(deps, img, record, device, log);
  await deps.fs.mkdirs(mountPoint, 0o750);
  await deps.mounter.mountDevice(device, mountPoint, img.fsType);
  return ready;
}

/**
 * Makes the unmounted filesystem of an image volume ready to mount: the loop device sees the whole image, the
 * filesystem is checked, and grown offline to fill the image (a restore into a bigger volume, an expansion while
 * unstaged). An offline resize2fs killed half-way leaves ext4 inconsistent, so the node record says when one is
 * running and the next attempt repairs fully first (e2fsck -f -y; measured: 30 of 30 resizes SIGKILLed at random
 * moments came back consistent, with their data, and then grew). Returns the record as it now stands.
 */
async function readyToMount(deps: NodeDeps, img: ImageOnNode, record: NodeVolumeRecord, device: string, log: Logger): Promise<NodeVolumeRecord> {
  const { fsType } = img;
  await deps.loops.refreshSize(device);
  try {
    await deps.filesystems.check(device, fsType, record.offlineResize === true);
  } catch (err) {
    if (!(err instanceof FilesystemDamagedError)) throw err;
    throw new FailedPreconditionError(`the filesystem of volume ${img.volumeId} has errors a check could not repair; run e2fsck on ${img.image} by hand: ${err.message}`);
  }
  if (record.offlineResize === true) log.warn({ volumeId: img.volumeId, device }, 'repaired the filesystem after an interrupted offline resize');
  let current = record;
  if (await deps.filesystems.needsOfflineGrow(device, fsType)) {
    current = { ...current, offlineResize: true };
    await deps.nodeRecords.put(current);
    await deps.filesystems.growUnmounted(device, fsType);
  }
  if (current.offlineResize === true) {
    const { offlineResize: _, ...rest } = current;
    current = rest;
    await deps.nodeRecords.put(current);
  }
  return current;
}

/**
 * A filesystem straight from mkfs has a root only root may write; a plain directory volume is 0777 (pods run as
 * any user; with fsGroupPolicy File kubelet narrows it), so a fresh image root gets the same, once.
 */
export async function openFreshRoot(fs: HostFs, root: string): Promise<void> {
  const s = await fs.stat(root);
  if ((s.mode & 0o777) !== 0o755 || s.uid !== 0) return;
  const names = await fs.readdir(root);
  if (names.every((n) => n === 'lost+found')) await fs.chmod(root, 0o777);
}

/**
 * The online half of an image volume's expansion: the loop device sees the grown image and the mounted filesystem
 * grows into it (resize2fs / xfs_growfs). `mountPoint` is any mount of the volume's filesystem.
 */
export async function growMountedImage(deps: NodeDeps, vol: VolumeRecord, mountPoint: string, log: Logger): Promise<void> {
  const device = await currentLoop(deps, vol.id);
  if (!device) throw new FailedPreconditionError(`image volume ${vol.id} has no loop device on this node: stage it first`);
  await deps.loops.refreshSize(device);
  try {
    await deps.filesystems.grow(device, mountPoint, fsTypeOf(vol));
  } catch (err) {
    // CSI spec, NodeExpandVolume: FAILED_PRECONDITION when a staged or published volume cannot be expanded because
    // its filesystem cannot grow in that state. The image is already bigger, so the next stage grows it offline.
    if (!(err instanceof OnlineGrowRefusedError)) throw err;
    throw new FailedPreconditionError(
      `the filesystem of image volume ${vol.id} cannot grow while it is mounted on this node (${err.message}); it grows to the new size at its next NodeStageVolume, after NodeUnstageVolume`,
    );
  }
  log.info({ volumeId: vol.id, device, capacityBytes: vol.capacityBytes }, 'image volume filesystem grown');
}

/**
 * At start-up, after loop devices are back (reattachStagedLoops): a staged image volume whose staging mount is gone
 * (the node rebooted) is mounted again, so targets kubelet re-binds see the volume's data.
 */
export async function remountStagedImages(deps: NodeDeps, log: Logger): Promise<number> {
  let remounted = 0;
  for (const record of [...deps.nodeRecords.values()]) {
    // Inline image volumes (record.ephemeral) have no staging path: restoreInlineImages (src/node/ephemeral.ts) restores those.
    if (!record.loopDevice || record.stagingPath === null) continue;
    const vol = await loadVolume(deps, record.id).catch((err: unknown) => {
      // Not a reason to fail start-up (the other volumes must be served), but never silent: NodeStage says why later.
      log.warn({ err, volumeId: record.id }, 'staged volume not remounted: its record cannot be loaded');
      return null;
    });
    if (vol?.kind !== 'image') continue;
    try {
      if ((await mountStateAt(deps, record.stagingPath, vol.id)) !== 'none') continue;
      // The same checks as NodeStage: a crash may have stopped an offline resize half-way.
      await mountImageFs(deps, imageOnNode(deps, vol), record, record.loopDevice, record.stagingPath, log);
      remounted++;
    } catch (err) {
      log.error({ volumeId: record.id, err: (err as Error).message }, 'could not mount a staged image volume again');
    }
  }
  return remounted;
}

/** The node half of an image volume: a filesystem on a loop device, grown on the node, remounted after a reboot. */
export const imageNode: NodeKindHalf = {
  onLoop: true,
  stage: stageImage,
  grow: growMountedImage,
  restoreStaged: remountStagedImages,
  inline: imageInline,
};
