import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { blockImage } from '../../../src/node/block';
import {
  blockCap,
  createVolumeRequest,
  expectCode,
  GiB,
  invoke,
  MiB,
  nodePublishRequest,
  range,
  stageRequest,
  startDriver,
  STATE_DEVICE,
  volumeStatsRequest,
  type TestDriver,
} from '../../helpers/fakes';

let d: TestDriver;

afterEach(async () => {
  await d.cleanup();
});

interface Staged { id: string; staging: string; target: string }

async function published(parameters: Record<string, string> = {}, block = false): Promise<Staged> {
  d = await startDriver({ 'csi-health-api': '1.13' });
  const cap = block ? blockCap() : undefined;
  const res = await invoke(d.controller.CreateVolume, createVolumeRequest('pv', {
    capacity_range: range(64n * MiB),
    parameters,
    ...(cap ? { volume_capabilities: [cap] } : {}),
  }));
  const id = res.volume!.volume_id!;
  const staging = path.join(d.dir, 'kubelet', 'staging', id);
  const target = path.join(d.dir, 'kubelet', 'pods', 'pod-1', 'mount');
  await invoke(d.node.NodeStageVolume, stageRequest(id, staging, cap));
  await invoke(d.node.NodePublishVolume, nodePublishRequest(id, staging, target, cap ? { volume_capability: cap } : {}));
  return { id, staging, target };
}

const health = (id: string, publishPath = '') =>
  invoke(d.node.NodeGetVolumeHealth, { volume_id: id, volume_publish_path: publishPath, staging_target_path: '' });
const reasons = async (id: string) => (await health(id)).volume_health!.health_statuses!.map((s) => [s.status, s.reason, s.message]);

describe('NodeGetVolumeHealth', () => {
  it('answers no health statuses for a staged and published volume', async () => {
    const v = await published();
    expect(await health(v.id)).toEqual({ volume_health: { volume_id: v.id, health_statuses: [] } });
  });

  it('refuses a request without a volume ID with INVALID_ARGUMENT', async () => {
    d = await startDriver();
    await expectCode(health(''), status.INVALID_ARGUMENT);
  });

  it('answers NOT_FOUND for a volume this node does not hold', async () => {
    d = await startDriver();
    await expectCode(health('no-such-volume'), status.NOT_FOUND);
  });

  it('reports a staging mount that is gone as INACCESSIBLE', async () => {
    const v = await published();
    await d.mounter.unmount(v.staging);
    expect(await reasons(v.id)).toEqual([['INACCESSIBLE', 'StagingMountMissing', `the volume is no longer mounted at its staging path ${v.staging}`]]);
  });

  it('reports a target mount that is gone as INACCESSIBLE', async () => {
    const v = await published();
    await d.mounter.unmount(v.target);
    expect(await reasons(v.id)).toEqual([['INACCESSIBLE', 'TargetMountMissing', `the volume is no longer mounted at its target path ${v.target}`]]);
  });

  it('reports a target path that shows another mount', async () => {
    const v = await published();
    d.mounter.mountForeign(v.target);
    expect(await reasons(v.id)).toEqual([['INACCESSIBLE', 'TargetMountMissing', `the target path ${v.target} shows another mount, not this volume`]]);
  });

  it('checks a publish path the CO names that the node has no record of', async () => {
    const v = await published();
    const other = path.join(d.dir, 'kubelet', 'pods', 'pod-2', 'mount');
    expect(await reasons(v.id)).toEqual([]);
    expect((await health(v.id, other)).volume_health!.health_statuses!.map((s) => s.reason)).toEqual(['TargetMountMissing']);
  });

  it('reports a loop device detached under a staged block volume', async () => {
    const v = await published({}, true);
    const image = blockImage(d.nodeDeps, v.id);
    const [device] = await d.loops.backingWritable(image);
    await d.loops.detach(device!);
    expect(await reasons(v.id)).toContainEqual(['INACCESSIBLE', 'LoopDeviceDetached', `no loop device backs the volume's image ${image} any more (detached under the staged volume)`]);
  });

  it('reports the ext4 errors the kernel recorded on an image volume as DATA_LOSS', async () => {
    const v = await published({ sizeLimit: 'image' });
    const [device] = await d.loops.backingWritable(blockImage(d.nodeDeps, v.id));
    const loop = path.basename(device!);
    await mkdir(path.join(d.dir, 'sysfs-ext4', loop), { recursive: true });
    await writeFile(path.join(d.dir, 'sysfs-ext4', loop, 'errors_count'), '3\n');
    expect(await reasons(v.id)).toEqual([['DATA_LOSS', 'FilesystemErrors', `the kernel has recorded 3 ext4 error(s) on the volume's filesystem (${device}): run fsck`]]);
  });

  it('reports no filesystem errors while the kernel counts none', async () => {
    const v = await published({ sizeLimit: 'image' });
    const [device] = await d.loops.backingWritable(blockImage(d.nodeDeps, v.id));
    await mkdir(path.join(d.dir, 'sysfs-ext4', path.basename(device!)), { recursive: true });
    await writeFile(path.join(d.dir, 'sysfs-ext4', path.basename(device!), 'errors_count'), '0\n');
    expect(await reasons(v.id)).toEqual([]);
  });

  it('reports the volume directory removed from the node\'s disk', async () => {
    const v = await published();
    await rm(d.layout.volumeDataDir(v.id), { recursive: true });
    expect((await health(v.id)).volume_health!.health_statuses!.map((s) => s.reason)).toEqual(['VolumeDirectoryMissing']);
  });

  it('still knows its mounts once the directory under them is removed, as the kernel shows them (root + "//deleted")', async () => {
    const v = await published();
    await rm(d.layout.volumeDataDir(v.id), { recursive: true });
    // fs/d_path.c dentry_path(): mountinfo shows an unlinked bind source's root with "//deleted" appended.
    for (const e of d.mounter.entries) if (e.mountPoint === v.staging || e.mountPoint === v.target) e.root += '//deleted';
    // kubelet (CSIVolumeHealth) reads volume_condition only from a successful NodeGetVolumeStats: NOT_FOUND here
    // would hide the finding from it, and the Pod would get no VolumeConditionAbnormal Event.
    const stats = await invoke(d.node.NodeGetVolumeStats, volumeStatsRequest(v.id, v.target));
    expect(stats.usage).toEqual([]);
    expect(stats.volume_condition!.abnormal).toBe(true);
    expect(stats.volume_condition!.message).toMatch(/^volume directory .* is missing/);
    await invoke(d.node.NodeUnpublishVolume, { volume_id: v.id, target_path: v.target });
    await invoke(d.node.NodeUnstageVolume, { volume_id: v.id, staging_target_path: v.staging });
    expect(d.mounter.entries.filter((e) => e.mountPoint === v.staging || e.mountPoint === v.target)).toEqual([]);
  });

  it('still knows a block target whose loop device was detached under it (losetup -d): stats answer the condition, unpublish and unstage go through', async () => {
    const v = await published({}, true);
    const [device] = await d.loops.backingWritable(blockImage(d.nodeDeps, v.id));
    await d.loops.detach(device!);
    const stats = await invoke(d.node.NodeGetVolumeStats, volumeStatsRequest(v.id, v.target));
    expect(stats.volume_condition!.abnormal).toBe(true);
    expect(stats.volume_condition!.message).toMatch(/^no loop device backs the volume's image .* any more/);
    await invoke(d.node.NodeUnpublishVolume, { volume_id: v.id, target_path: v.target });
    await invoke(d.node.NodeUnstageVolume, { volume_id: v.id, staging_target_path: v.staging });
    expect(d.mounter.entries.filter((e) => e.mountPoint === v.staging || e.mountPoint === v.target)).toEqual([]);
  });

  it('a block target whose loop device now backs another file is not the volume\'s: NOT_FOUND', async () => {
    const v = await published({}, true);
    const [device] = await d.loops.backingWritable(blockImage(d.nodeDeps, v.id));
    await d.loops.detach(device!);
    // The kernel hands a free loop name to whoever attaches next (the fake never reuses one: set it by hand).
    d.loops.attached.set(device!, { device: device!, file: path.join(d.dir, 'other.img'), readOnly: false });
    await expectCode(invoke(d.node.NodeGetVolumeStats, volumeStatsRequest(v.id, v.target)), status.NOT_FOUND);
  });

  it('gives a v1.12 kubelet the same finding as the abnormal volume_condition of NodeGetVolumeStats', async () => {
    const v = await published();
    await d.mounter.unmount(v.staging);
    const stats = await invoke(d.node.NodeGetVolumeStats, volumeStatsRequest(v.id, v.target));
    expect(stats.volume_condition).toEqual({ abnormal: true, message: `the volume is no longer mounted at its staging path ${v.staging}` });
  });
});

describe('NodeGetStorageHealth', () => {
  const storage = async () => (await invoke(d.node.NodeGetStorageHealth, { secrets: {} })).backend_health;
  const stateMount = (options: string[]) => d.mounter.entries.push({
    mountPoint: d.dir, root: '/', device: STATE_DEVICE, fsType: 'xfs', source: '/dev/sda1', options, superOptions: ['rw'],
  });

  it('answers no findings for a writable state filesystem with room', async () => {
    d = await startDriver();
    stateMount(['rw']);
    expect(await storage()).toEqual([]);
  });

  it('reports a state filesystem remounted read-only as STORAGE_UNREACHABLE', async () => {
    d = await startDriver();
    stateMount(['ro']);
    expect(await storage()).toEqual([{
      status: 'STORAGE_UNREACHABLE',
      reason: 'StateFilesystemReadOnly',
      message: `the state filesystem at ${d.dir} is mounted read-only (the kernel remounts it so after errors): nothing can be written`,
    }]);
  });

  it('reports a state filesystem under 5% free as STORAGE_DEGRADED', async () => {
    d = await startDriver();
    d.statFs.stats = { ...d.statFs.stats, totalBytes: 100n * GiB, availableBytes: 4n * GiB };
    expect(await storage()).toEqual([{
      status: 'STORAGE_DEGRADED',
      reason: 'StateFilesystemNearlyFull',
      message: `the state filesystem has ${4n * GiB} of ${100n * GiB} bytes free (under 5%)`,
    }]);
  });

  it('reports a state filesystem nearly out of inodes as STORAGE_DEGRADED', async () => {
    d = await startDriver();
    d.statFs.stats = { ...d.statFs.stats, totalInodes: 1000n, freeInodes: 10n };
    expect((await storage())?.map((f) => f.message)).toEqual(['the state filesystem has 10 of 1000 inodes free (under 5%)']);
  });
});
