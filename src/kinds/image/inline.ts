import { FailedPreconditionError } from '../../errors';
import type { Logger } from '../../log';
import type { EphemeralPublishCommand } from '../../domain/commands';
import type { HealthFinding } from '../../domain/health';
import { makeImageFile, mountedImageUsage } from './controller';
import { imageMountChecks } from './health';
import { mountImageFs, openFreshRoot, type ImageOnNode } from './node';
import { imageIntact } from '../health-checks';
import type { VolumeUsage } from '../../volumes/backend';
import type { ImageFsType, NodeVolumeRecord } from '../../volumes/model';
import { currentLoop, detachLoops, ensureLoop } from '../../node/block';
import { mountStateAt, unmountVolumeAt } from '../../node/mounts';
import type { NodeDeps } from '../../node/node-deps';
import type { InlineKindHalf } from '../../node/node-kind';

/**
 * Inline volumes with `sizeLimit: image`: the persistent image kind's host steps (src/kinds/image), with the image
 * at ephemeral/<id>/disk.img and the node's own mount of its filesystem at ephemeral/<id>/fs in place of a staging
 * mount (kubelet never stages an inline volume). The node record is written first and names every step done
 * (ephemeral.formatted, loopDevice), so a publish or unpublish retried after a crash at any step finishes the job
 * from where it stopped: one image, one loop device (found by its backing file), one mount.
 */

const inlineImage = (deps: NodeDeps, record: NodeVolumeRecord, fsType: ImageFsType): ImageOnNode => ({
  volumeId: record.id,
  image: deps.layout.ephemeralImageFile(record.id),
  fsType,
});

function fsTypeOfInline(record: NodeVolumeRecord): ImageFsType {
  const fsType = record.ephemeral?.fsType;
  if (fsType === undefined) throw new FailedPreconditionError(`inline volume ${record.id} is a plain directory, not an image`);
  return fsType;
}

/**
 * CSI spec, NodePublishVolume, "Exceeds capabilities": FAILED_PRECONDITION when the CO asks for a capability the
 * volume cannot have here, which a filesystem this kernel cannot mount is. Checked before anything is made.
 */
async function requireKernelFs(deps: NodeDeps, fsType: ImageFsType): Promise<void> {
  if ((await deps.healthProbe.filesystemSupport(fsType)) === 'no') {
    throw new FailedPreconditionError(`this node's kernel cannot mount ${fsType} (not in /proc/filesystems, no module for it): choose another fsType for the inline volume`);
  }
}

/**
 * Makes (once) the image of an inline volume, attaches it, mounts its filesystem at ephemeral/<id>/fs and binds that
 * at the target, read-only and with the capability's mount flags as a persistent volume's publish binds its staging
 * mount. `record` is already on disk. Returns the record as it now stands (without the new target).
 */
async function publishInlineImage(deps: NodeDeps, cmd: EphemeralPublishCommand, record: NodeVolumeRecord, log: Logger): Promise<NodeVolumeRecord> {
  const img = inlineImage(deps, record, fsTypeOfInline(record));
  let current = record;
  if (current.ephemeral?.formatted !== true) {
    // An image made before a crash may hold half a filesystem, and nothing was ever handed to a pod: start afresh.
    await deps.fs.removeTree(deps.layout.ephemeralDataDir(record.id));
    await makeImageFile(deps.fs, deps.filesystems, img.image, BigInt(record.ephemeral!.capacityBytes), img.fsType);
    current = { ...current, ephemeral: { ...record.ephemeral!, formatted: true } };
    await deps.nodeRecords.put(current);
  }
  const mountDir = deps.layout.ephemeralMountDir(record.id);
  const here = await mountStateAt(deps, mountDir, record.id);
  if (here === 'foreign') throw new FailedPreconditionError(`${mountDir} already has another mount`);
  if (here === 'none') current = await mountInlineFs(deps, img, current, mountDir, log);
  await deps.fs.mkdirs(cmd.targetPath, 0o750);
  await deps.mounter.bind(mountDir, cmd.targetPath, { readonly: cmd.readonly, flags: cmd.capability.mountFlags });
  return current;
}

/** Loop device (recorded before the mount, so a crash in between leaves something unpublish finds), check, mount. */
async function mountInlineFs(deps: NodeDeps, img: ImageOnNode, record: NodeVolumeRecord, mountDir: string, log: Logger): Promise<NodeVolumeRecord> {
  const device = await ensureLoop(deps, record.id, log);
  let current: NodeVolumeRecord = { ...record, loopDevice: device };
  await deps.nodeRecords.put(current);
  try {
    current = await mountImageFs(deps, img, current, device, mountDir, log);
  } catch (err) {
    await detachLoops(deps, record.id, log).catch(() => undefined);
    await deps.nodeRecords.put({ ...current, loopDevice: null });
    throw err;
  }
  await openFreshRoot(deps.fs, mountDir);
  log.info({ volumeId: record.id, device, fsType: img.fsType, mountDir }, 'inline image volume mounted');
  return current;
}

/**
 * After an inline image volume's last target is gone: its own mount goes, then its loop devices (a loop device
 * keeps a removed image alive and is not namespaced), so that the caller may remove its directory and record.
 */
async function releaseInlineImage(deps: NodeDeps, record: NodeVolumeRecord, log: Logger): Promise<void> {
  const mountDir = deps.layout.ephemeralMountDir(record.id);
  if ((await unmountVolumeAt(deps, mountDir, record.id)) === 'foreign') {
    throw new FailedPreconditionError(`${mountDir} has a mount that is not inline volume ${record.id}: left alone`);
  }
  await detachLoops(deps, record.id, log);
}

/** NodeGetVolumeStats: statfs of the image's own filesystem, what a writer in the pod can still use. */
function inlineImageUsage(deps: NodeDeps, volumePath: string): Promise<VolumeUsage> {
  return mountedImageUsage(deps.statFs, volumePath);
}

/** The image and its mount, checked as a persistent image volume's storage and staging are (src/kinds/image/health.ts). */
async function inlineImageFindings(deps: NodeDeps, record: NodeVolumeRecord): Promise<HealthFinding[]> {
  const image = deps.layout.ephemeralImageFile(record.id);
  const mountDir = deps.layout.ephemeralMountDir(record.id);
  const [storage, mounted] = await Promise.all([
    imageIntact({ probe: deps.healthProbe, statFs: deps.statFs, dataPath: image }, { capacityBytes: record.ephemeral!.capacityBytes }),
    imageMountChecks({
      probe: deps.healthProbe,
      loops: deps.loops,
      image,
      stagingPath: mountDir,
      // The state directory is not mounted with Bidirectional propagation in the pod forms, so a replaced driver
      // container no longer sees its own mount while the pod's target still holds the filesystem: mounted is enough.
      stagingMounted: async () => (await mountStateAt(deps, mountDir, record.id)) === 'ours' || (await mountedElsewhere(deps, record)),
    }),
  ]);
  return [...storage, ...mounted];
}

/** Whether the inline image's filesystem shows anywhere but its own mount: a target bound before a crash, unrecorded. */
async function mountedElsewhere(deps: NodeDeps, record: NodeVolumeRecord): Promise<boolean> {
  const devices = new Set(await deps.loops.backing(deps.layout.ephemeralImageFile(record.id)));
  if (devices.size === 0) return false;
  const mountDir = deps.layout.ephemeralMountDir(record.id);
  return (await deps.mounter.list()).some((m) => devices.has(m.source) && m.mountPoint !== mountDir);
}

/** At start-up: the inline image's own mount, put back where a reboot took it and its loop device is back. */
async function remountInlineImage(deps: NodeDeps, record: NodeVolumeRecord, log: Logger): Promise<boolean> {
  if (record.ephemeral?.formatted !== true) return false;
  const mountDir = deps.layout.ephemeralMountDir(record.id);
  if ((await mountStateAt(deps, mountDir, record.id)) !== 'none') return false;
  // A target still holds the filesystem (the driver's container was replaced, its mount namespace with it): the
  // pod has its volume, and checking a mounted filesystem is refused.
  if (await mountedElsewhere(deps, record)) return false;
  const device = await currentLoop(deps, record.id);
  if (device === null) return false;
  await mountImageFs(deps, inlineImage(deps, record, fsTypeOfInline(record)), record, device, mountDir, log);
  return true;
}

/** The image kind's half for CSI inline volumes with `sizeLimit: image` (src/node/ephemeral.ts calls it). */
export const imageInline: InlineKindHalf = {
  requireSupported: requireKernelFs,
  publish: publishInlineImage,
  release: releaseInlineImage,
  usage: inlineImageUsage,
  findings: inlineImageFindings,
  mountedElsewhere,
  restore: remountInlineImage,
};
