/**
 * The health checks the kinds share (src/kinds/<kind>/health.ts puts its own together from these): each reads the
 * volume's data or its staging as the kind keeps it and answers findings, never throws for what it finds.
 */
import { finding, type HealthFinding } from '../domain/health';
import type { StagedCheckContext, StorageCheckContext } from '../volumes/health-checks';
import type { StateLayout } from '../volumes/layout';
import type { VolumeRecord } from '../volumes/model';

/** Where a directory kind keeps a volume's data (dir, quota). */
export const directoryPath = (layout: StateLayout, vol: VolumeRecord): string => layout.dataDirOf(vol);
/** Where an image kind keeps a volume's data (block, image): the sparse image (src/kinds/sparse-image.ts). */
export const imagePath = (layout: StateLayout, vol: VolumeRecord): string => layout.volumeImageFile(vol.id);

export async function directoryPresent(ctx: StorageCheckContext, vol?: VolumeRecord): Promise<HealthFinding[]> {
  const info = await ctx.probe.pathInfo(ctx.dataPath);
  if (!info) return [finding('INACCESSIBLE', 'VolumeDirectoryMissing', `volume directory ${ctx.dataPath} is missing${vol?.dataDir ? '' : ' from the state directory'}`)];
  if (info.type !== 'directory') return [finding('INACCESSIBLE', 'VolumeDirectoryMissing', `volume path ${ctx.dataPath} exists but is not a directory`)];
  return [];
}

/** The image must be a regular file of exactly the volume's capacity (src/kinds/sparse-image.ts keeps it so). */
export async function imageIntact(ctx: StorageCheckContext, vol: Pick<VolumeRecord, 'capacityBytes'>): Promise<HealthFinding[]> {
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

export async function stagingMount(ctx: StagedCheckContext): Promise<HealthFinding[]> {
  if (await ctx.stagingMounted()) return [];
  return [finding('INACCESSIBLE', 'StagingMountMissing', `the volume is no longer mounted at its staging path ${ctx.stagingPath}`)];
}

export async function loopAttached(ctx: StagedCheckContext): Promise<HealthFinding[]> {
  if ((await ctx.loops.backingWritable(ctx.image)).length > 0) return [];
  return [finding('INACCESSIBLE', 'LoopDeviceDetached', `no loop device backs the volume's image ${ctx.image} any more (detached under the staged volume)`)];
}

export const all = (...checks: Array<(ctx: StagedCheckContext) => Promise<HealthFinding[]>>) =>
  async (ctx: StagedCheckContext): Promise<HealthFinding[]> => (await Promise.all(checks.map((c) => c(ctx)))).flat();
