import type { HealthProbe } from '../os/health-probe';
import type { StatFs } from '../os/fs-stats';
import type { LoopDevices } from '../os/loop';
import path from 'node:path';
import type { StateLayout } from './layout';
import type { VolumeKind, VolumeRecord } from './model';
import { BLOCK_IMAGE } from './layout';
import { finding, type HealthFinding } from '../domain/health';

/** What the controller-side checks read: the volume's storage as its backend keeps it. */
export interface StorageCheckContext {
  readonly probe: HealthProbe;
  readonly statFs: StatFs;
  /** The backend's path of the volume's data: its directory, or its image file. */
  readonly dataPath: string;
}

/** What the node-side checks read about a staged volume. */
export interface StagedCheckContext {
  readonly probe: HealthProbe;
  readonly loops: LoopDevices;
  /** The volume's image file (block, image kinds). */
  readonly image: string;
  /** Whether the recorded staging path still shows this volume's mount. */
  readonly stagingMounted: () => Promise<boolean>;
  readonly stagingPath: string;
}

export interface KindHealthChecks {
  /** Where the kind keeps a volume's data (what its backend's stageSource names): checked by `storage`. */
  dataPath(layout: StateLayout, volumeId: string): string;
  /** The controller's view: is the data where the backend keeps it, whole and within its limit. */
  storage(ctx: StorageCheckContext, vol: VolumeRecord): Promise<HealthFinding[]>;
  /** The node's view of a staged volume: the staging mount or loop device its targets depend on. */
  staged(ctx: StagedCheckContext, vol: VolumeRecord): Promise<HealthFinding[]>;
}

async function directoryPresent(ctx: StorageCheckContext): Promise<HealthFinding[]> {
  const info = await ctx.probe.pathInfo(ctx.dataPath);
  if (!info) return [finding('INACCESSIBLE', 'VolumeDirectoryMissing', `volume directory ${ctx.dataPath} is missing from the state directory`)];
  if (info.type !== 'directory') return [finding('INACCESSIBLE', 'VolumeDirectoryMissing', `volume path ${ctx.dataPath} exists but is not a directory`)];
  return [];
}

/**
 * statfs on a project-quota directory answers the project's limit and usage (XFS, ext4), so nothing available under
 * a non-zero limit means writers get EDQUOT.
 */
async function quotaExceeded(ctx: StorageCheckContext): Promise<HealthFinding[]> {
  const fs = await ctx.statFs(ctx.dataPath);
  if (fs.totalBytes > 0n && fs.availableBytes === 0n) {
    return [finding('DEGRADED', 'QuotaExceeded', `the volume's project quota of ${fs.totalBytes} bytes is used up: writes fail with EDQUOT`)];
  }
  return [];
}

/** The image must be a regular file of exactly the volume's capacity (src/kinds/sparse-image.ts keeps it so). */
async function imageIntact(ctx: StorageCheckContext, vol: VolumeRecord): Promise<HealthFinding[]> {
  const info = await ctx.probe.pathInfo(ctx.dataPath);
  if (!info) return [finding('INACCESSIBLE', 'VolumeImageMissing', `volume image ${ctx.dataPath} is missing from the state directory`)];
  if (info.type !== 'file') return [finding('INACCESSIBLE', 'VolumeImageMissing', `volume image path ${ctx.dataPath} is not a regular file`)];
  const capacity = BigInt(vol.capacityBytes);
  if (info.sizeBytes < capacity) {
    return [finding('DATA_LOSS', 'VolumeImageSize', `volume image is ${info.sizeBytes} bytes, smaller than the volume's capacity ${capacity}: data past its end is lost`)];
  }
  if (info.sizeBytes > capacity) {
    return [finding('DEGRADED', 'VolumeImageSize', `volume image is ${info.sizeBytes} bytes, larger than the volume's capacity ${capacity}`)];
  }
  return [];
}

async function stagingMount(ctx: StagedCheckContext): Promise<HealthFinding[]> {
  if (await ctx.stagingMounted()) return [];
  return [finding('INACCESSIBLE', 'StagingMountMissing', `the volume is no longer mounted at its staging path ${ctx.stagingPath}`)];
}

async function loopAttached(ctx: StagedCheckContext): Promise<HealthFinding[]> {
  if ((await ctx.loops.backingWritable(ctx.image)).length > 0) return [];
  return [finding('INACCESSIBLE', 'LoopDeviceDetached', `no loop device backs the volume's image ${ctx.image} any more (detached under the staged volume)`)];
}

/** ext4 counts the errors it has found since mkfs (sysfs errors_count); any is damage fsck must look at. */
async function kernelFsErrors(ctx: StagedCheckContext): Promise<HealthFinding[]> {
  const found: HealthFinding[] = [];
  for (const device of await ctx.loops.backingWritable(ctx.image)) {
    const errors = await ctx.probe.ext4ErrorCount(device);
    if (errors !== null && errors > 0) {
      found.push(finding('DATA_LOSS', 'FilesystemErrors', `the kernel has recorded ${errors} ext4 error(s) on the volume's filesystem (${device}): run fsck`));
    }
  }
  return found;
}

const all = (...checks: Array<(ctx: StagedCheckContext) => Promise<HealthFinding[]>>) =>
  async (ctx: StagedCheckContext): Promise<HealthFinding[]> => (await Promise.all(checks.map((c) => c(ctx)))).flat();

/** Every kind's checks, in one table: nothing else branches on the kind for health. */
const directory = (layout: StateLayout, id: string): string => layout.volumeDataDir(id);
const image = (layout: StateLayout, id: string): string => path.join(layout.volumeDataDir(id), BLOCK_IMAGE);

export const HEALTH_CHECKS: Readonly<Record<VolumeKind, KindHealthChecks>> = {
  dir: { dataPath: directory, storage: directoryPresent, staged: stagingMount },
  quota: {
    dataPath: directory,
    storage: async (ctx) => {
      const missing = await directoryPresent(ctx);
      return missing.length > 0 ? missing : quotaExceeded(ctx);
    },
    staged: stagingMount,
  },
  // A raw block volume is staged as a loop device only (no mount): the device file its targets bind is the loop.
  block: { dataPath: image, storage: imageIntact, staged: loopAttached },
  image: {
    dataPath: image,
    storage: imageIntact,
    // A detached loop under a mounted filesystem cannot happen (the mount holds it); it can after a lazy unmount.
    staged: all(stagingMount, loopAttached, kernelFsErrors),
  },
};
