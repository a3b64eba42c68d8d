import { hostPathProblem } from '../validate/fields';
import { blockImage } from './block';
import { mountStateAt } from './mounts';
import { inlineImageHalf, isInlineImage, loadVolume, type NodeDeps } from './node-deps';
import { mountHolding } from '../os/project-quota';
import type { NodeVolumeRecord, VolumeRecord } from '../volumes/model';
import { healthChecksFor } from '../volumes/health-checks';
import { finding, type HealthFinding } from '../domain/health';

export type NodeHealthDeps = NodeDeps;

/** Below this share of free space (or inodes) the state filesystem is reported nearly full. */
export const NEARLY_FULL_RATIO = 0.05;

const trimmed = (p: string): string => p.replace(/\/+$/, '');

async function targetFindings(deps: NodeDeps, volumeId: string, paths: readonly string[]): Promise<HealthFinding[]> {
  const states = await Promise.all(paths.map(async (p) => [p, await mountStateAt(deps, trimmed(p), volumeId)] as const));
  return states
    .filter(([, state]) => state !== 'ours')
    .map(([p, state]) => finding('INACCESSIBLE', 'TargetMountMissing',
      state === 'none' ? `the volume is no longer mounted at its target path ${p}` : `the target path ${p} shows another mount, not this volume`));
}

async function stagedFindings(deps: NodeHealthDeps, vol: VolumeRecord, record: NodeVolumeRecord): Promise<HealthFinding[]> {
  const stagingPath = record.stagingPath;
  if (stagingPath === null) return [];
  return healthChecksFor(deps, vol.kind).staged({
    probe: deps.healthProbe,
    loops: deps.loops,
    image: blockImage(deps, vol.id),
    stagingPath,
    stagingMounted: async () => (await mountStateAt(deps, trimmed(stagingPath), vol.id)) === 'ours',
  }, vol);
}

/** Paths the CO named that this node records too, plus the ones it named that are new to the record. */
function targetPaths(deps: NodeDeps, record: NodeVolumeRecord | undefined, publishPath: string): string[] {
  const paths = new Set(Object.keys(record?.targets ?? {}));
  if (publishPath !== '' && hostPathProblem(publishPath, deps.config.allowedPathRoot) === null) paths.add(publishPath);
  return [...paths];
}

/**
 * The node's view of one volume (CSI v1.13, NodeGetVolumeHealth): its storage on this node's disk, the staging mount
 * or loop device it was staged with, and every target it is published at (and the publish path the CO names).
 * A volume this node does not hold is NOT_FOUND (loadVolume), as for NodeGetVolumeStats.
 */
export async function nodeVolumeFindings(deps: NodeHealthDeps, volumeId: string, publishPath = ''): Promise<HealthFinding[]> {
  const record = deps.nodeRecords.get(volumeId);
  const targets = targetPaths(deps, record, publishPath);
  if (record?.ephemeral) {
    const [image, published] = await Promise.all([isInlineImage(record) ? inlineImageHalf(deps).findings(deps, record) : [], targetFindings(deps, volumeId, targets)]);
    return [...image, ...published];
  }
  const vol = await loadVolume(deps, volumeId);
  const checks = healthChecksFor(deps, vol.kind);
  const [storage, staged, published] = await Promise.all([
    checks.storage({ probe: deps.healthProbe, statFs: deps.statFs, dataPath: checks.dataPath(deps.layout, vol) }, vol),
    record ? stagedFindings(deps, vol, record) : Promise.resolve([]),
    targetFindings(deps, volumeId, targets),
  ]);
  return [...storage, ...staged, ...published];
}

export interface StorageFinding {
  status: 'STORAGE_DEGRADED' | 'STORAGE_UNREACHABLE';
  reason: string;
  message: string;
}

/**
 * CSI v1.13, NodeGetStorageHealth: the state directory's filesystem, which holds every kind's volumes. Read-only
 * means nothing can be created, staged or written (unreachable for writes); under 5% free space or inodes is degraded.
 * An empty answer means healthy.
 */
export async function storageFindings(deps: NodeDeps): Promise<StorageFinding[]> {
  const dir = deps.layout.volumesDir;
  const [fs, mounts, device] = await Promise.all([deps.statFs(dir), deps.mounter.list(), deps.deviceOf(dir)]);
  const found: StorageFinding[] = [];
  const mount = mountHolding(mounts, dir, device);
  if (mount && (mount.options.includes('ro') || mount.superOptions.includes('ro'))) {
    found.push({ status: 'STORAGE_UNREACHABLE', reason: 'StateFilesystemReadOnly', message: `the state filesystem at ${mount.mountPoint} is mounted read-only (the kernel remounts it so after errors): nothing can be written` });
  }
  const low = (free: bigint, total: bigint): boolean => total > 0n && Number(free) / Number(total) < NEARLY_FULL_RATIO;
  if (low(fs.availableBytes, fs.totalBytes)) {
    found.push({ status: 'STORAGE_DEGRADED', reason: 'StateFilesystemNearlyFull', message: `the state filesystem has ${fs.availableBytes} of ${fs.totalBytes} bytes free (under 5%)` });
  }
  if (low(fs.freeInodes, fs.totalInodes)) {
    found.push({ status: 'STORAGE_DEGRADED', reason: 'StateFilesystemNearlyFull', message: `the state filesystem has ${fs.freeInodes} of ${fs.totalInodes} inodes free (under 5%)` });
  }
  return found;
}
