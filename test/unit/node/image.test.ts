import { status } from '@grpc/grpc-js';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { remountStagedImages } from '../../../src/kinds/image/node';
import { reconcileSnapshots } from '../../../src/snapshots/reconcile';
import {
  createVolumeRequest,
  expectCode,
  invoke,
  MiB,
  mountCap,
  nodeExpandRequest,
  nodePublishRequest,
  nodeUnpublishRequest,
  range,
  silentLogger,
  stageRequest,
  startDriver,
  unstageRequest,
  volumeStatsRequest,
  type TestDriver,
} from '../../helpers/fakes';

let d: TestDriver;
let id: string;
let staging: string;
let target: string;

async function setUp(flags: Record<string, string> = {}): Promise<void> {
  d = await startDriver(flags);
  const res = await invoke(d.controller.CreateVolume, createVolumeRequest('pv', { capacity_range: range(64n * MiB), parameters: { sizeLimit: 'image' } }));
  id = res.volume!.volume_id!;
  staging = path.join(d.dir, 'kubelet', 'staging', id);
  target = path.join(d.dir, 'kubelet', 'pods', 'pod-1', 'mount');
}

afterEach(async () => {
  await d.cleanup();
});

const image = () => path.join(d.layout.volumeDataDir(id), 'disk.img');
const stage = (cap = mountCap()) => invoke(d.node.NodeStageVolume, stageRequest(id, staging, cap));
const publish = () => invoke(d.node.NodePublishVolume, nodePublishRequest(id, staging, target));
const nodeRecord = async () => JSON.parse(await readFile(d.nodeDeps.nodeRecords.fileOf(id), 'utf8')) as Record<string, unknown>;

describe('image volumes on the node', () => {
  beforeEach(() => setUp());

  it('stages by attaching the image, growing its filesystem offline, and mounting it', async () => {
    await stage();
    const [device] = await d.loops.backing(image());
    expect(d.filesystems.grownOffline).toEqual([device]);
    expect(d.mounter.mountsAt(staging)).toMatchObject([{ root: '/', source: device, fsType: 'ext4' }]);
    expect(await nodeRecord()).toMatchObject({ stagingPath: staging, loopDevice: device });
  });

  it('adds no second mount or loop device for a repeated stage', async () => {
    await stage();
    await stage();
    expect(d.mounter.mountsAt(staging)).toHaveLength(1);
    expect(d.loops.attached.size).toBe(1);
  });

  it('refuses a capability naming another filesystem with INVALID_ARGUMENT', async () => {
    const xfs = { ...mountCap(), mount: { fs_type: 'xfs', mount_flags: [], volume_mount_group: '' } };
    await expectCode(stage(xfs), status.INVALID_ARGUMENT);
    expect(d.loops.attached.size).toBe(0);
  });

  it('detaches the loop device again when the mount fails, leaving nothing behind', async () => {
    d.mounter.mountDevice = async () => {
      throw new Error('mount: wrong fs type');
    };
    await expectCode(stage(), status.INTERNAL);
    expect(d.loops.attached.size).toBe(0);
  });

  it('checks the filesystem before mounting it, and repairs fully after an offline resize that did not finish', async () => {
    d.filesystems.failGrowUnmounted = new Error('resize2fs was killed');
    await expectCode(stage(), status.INTERNAL);
    expect(await nodeRecord()).toMatchObject({ offlineResize: true, loopDevice: null });
    expect(d.mounter.mountsAt(staging)).toHaveLength(0);
    await stage();
    const [device] = await d.loops.backing(image());
    expect(d.filesystems.checks.map((c) => c.full)).toEqual([false, true]);
    expect(d.filesystems.grownOffline).toEqual([device]);
    expect(await nodeRecord()).not.toHaveProperty('offlineResize');
    expect(d.mounter.mountsAt(staging)).toHaveLength(1);
  });

  it('refuses to mount a filesystem with errors a check cannot repair (FAILED_PRECONDITION), leaving no device', async () => {
    d.filesystems.damaged = true;
    const err = await stage().then(() => null, (e: unknown) => e as { code: number; details: string });
    expect(err?.code).toBe(status.FAILED_PRECONDITION);
    expect(err?.details).toMatch(/e2fsck .* by hand/);
    expect(d.mounter.mountsAt(staging)).toHaveLength(0);
    expect(d.loops.attached.size).toBe(0);
  });

  it('publishes by binding the staged filesystem, and reports its own statfs as stats', async () => {
    await stage();
    await publish();
    expect(d.mounter.mountsAt(target)).toMatchObject([{ root: '/', fsType: 'ext4' }]);
    d.statFs.stats = { totalBytes: 60n * MiB, availableBytes: 20n * MiB, totalInodes: 1000n, freeInodes: 900n };
    const stats = await invoke(d.node.NodeGetVolumeStats, volumeStatsRequest(id, target));
    expect(stats.usage).toEqual([
      { unit: 'BYTES', total: String(60n * MiB), used: String(40n * MiB), available: String(20n * MiB) },
      { unit: 'INODES', total: '1000', used: '100', available: '900' },
    ]);
  });

  it('refuses to unstage while published (FAILED_PRECONDITION) and keeps the device', async () => {
    await stage();
    await publish();
    await expectCode(invoke(d.node.NodeUnstageVolume, unstageRequest(id, staging)), status.FAILED_PRECONDITION);
    expect(d.mounter.mountsAt(staging)).toHaveLength(1);
    expect(d.loops.attached.size).toBe(1);
  });

  it('unstages by unmounting and detaching', async () => {
    await stage();
    await publish();
    await invoke(d.node.NodeUnpublishVolume, nodeUnpublishRequest(id, target));
    await invoke(d.node.NodeUnstageVolume, unstageRequest(id, staging));
    expect(d.mounter.mountsAt(staging)).toEqual([]);
    expect(d.loops.attached.size).toBe(0);
  });

  it('grows the mounted filesystem at NodeExpandVolume after the controller grew the image', async () => {
    await stage();
    await publish();
    await invoke(d.controller.ControllerExpandVolume, { volume_id: id, capacity_range: range(128n * MiB), secrets: {}, volume_capability: null, parameters: {} });
    const res = await invoke(d.node.NodeExpandVolume, nodeExpandRequest(id, target, range(128n * MiB)));
    expect(res.capacity_bytes).toBe(String(128n * MiB));
    const [device] = await d.loops.backing(image());
    expect(d.filesystems.grown.at(-1)).toEqual({ device, mountPoint: staging, fsType: 'ext4' });
    expect(d.loops.refreshed).toContain(device);
  });

  it('mounts a staged image again at start-up when its mount is gone (after a reboot)', async () => {
    await stage();
    await d.mounter.unmount(staging);
    expect(await remountStagedImages(d.nodeDeps, silentLogger())).toBe(1);
    expect(d.mounter.mountsAt(staging)).toHaveLength(1);
  });

  it('at start-up, finishes an offline resize a crash stopped before mounting again (full repair, then grow)', async () => {
    await stage();
    const [device] = await d.loops.backing(image());
    await d.mounter.unmount(staging);
    // The image grew while unstaged and a crash stopped resize2fs half-way: the record says so.
    d.filesystems.filled.delete(device!);
    await d.nodeDeps.nodeRecords.put({ ...d.nodeDeps.nodeRecords.get(id)!, offlineResize: true });
    expect(await remountStagedImages(d.nodeDeps, silentLogger())).toBe(1);
    expect(d.filesystems.checks.at(-1)).toEqual({ device, full: true });
    expect(d.filesystems.grownOffline).toEqual([device, device]);
    expect(await nodeRecord()).not.toHaveProperty('offlineResize');
    expect(d.mounter.mountsAt(staging)).toHaveLength(1);
  });
});

describe('snapshots of a mounted image volume', () => {
  beforeEach(() => setUp());
  const snapshot = () => invoke(d.controller.CreateSnapshot, { source_volume_id: id, name: 'snap-1', secrets: {}, parameters: {}, accessibility_requirements: null });

  it('freeze the filesystem for the copy and thaw it after', async () => {
    await stage();
    const res = await snapshot();
    expect(res.snapshot?.ready_to_use).toBe(true);
    expect(d.filesystems.events).toEqual([`freeze ${staging}`, `thaw ${staging}`]);
    expect(d.filesystems.frozen.size).toBe(0);
  });

  it('succeed when a crash left the filesystem frozen, and leave it thawed', async () => {
    await stage();
    await d.filesystems.freeze(staging);
    await snapshot();
    expect(d.filesystems.frozen.size).toBe(0);
  });

  it('are let go at start-up: a snapshot that never answered leaves no frozen filesystem behind', async () => {
    await stage();
    await d.filesystems.freeze(staging);
    const vol = d.controllerDeps.catalog.getVolume(id)!;
    await d.controllerDeps.snapshots.put({
      id: 'snap-x', name: 'snap-x', sourceVolumeId: id, sizeBytes: vol.capacityBytes, kind: 'image', accessType: 'mount',
      fsType: 'ext4', parameters: {}, groupId: null, phase: 'creating', createdAt: new Date(0).toISOString(),
    });
    const report = await reconcileSnapshots(d.controllerDeps, silentLogger());
    expect(report.rolledBack).toBe(1);
    expect(d.filesystems.frozen.size).toBe(0);
  });
});

describe('node-driven expansion (--controller-expansion=false)', () => {
  beforeEach(() => setUp({ 'controller-expansion': 'false' }));

  it('grows the record, the image and the filesystem in NodeExpandVolume', async () => {
    await stage();
    await publish();
    const res = await invoke(d.node.NodeExpandVolume, nodeExpandRequest(id, target, range(128n * MiB)));
    expect(res.capacity_bytes).toBe(String(128n * MiB));
    expect(d.controllerDeps.catalog.getVolume(id)!.capacityBytes).toBe(String(128n * MiB));
    expect(JSON.parse(await readFile(d.layout.volumeRecordFile(id), 'utf8')).capacityBytes).toBe(String(128n * MiB));
    expect((await stat(image())).size).toBe(Number(128n * MiB));
    expect(d.filesystems.grown.at(-1)?.mountPoint).toBe(staging);
  });

  it('refuses to shrink with OUT_OF_RANGE and changes nothing', async () => {
    await stage();
    await publish();
    await expectCode(invoke(d.node.NodeExpandVolume, nodeExpandRequest(id, target, range(MiB, MiB))), status.OUT_OF_RANGE);
    expect(d.controllerDeps.catalog.getVolume(id)!.capacityBytes).toBe(String(64n * MiB));
  });

  it('raises a quota volume\'s limit from the node', async () => {
    const q = (await invoke(d.controller.CreateVolume, createVolumeRequest('q', { capacity_range: range(64n * MiB), parameters: { sizeLimit: 'quota' } }))).volume!.volume_id!;
    const qStaging = path.join(d.dir, 'kubelet', 'staging', q);
    await invoke(d.node.NodeStageVolume, stageRequest(q, qStaging));
    await invoke(d.node.NodeExpandVolume, nodeExpandRequest(q, qStaging, range(256n * MiB)));
    expect([...d.quotas.limits.values()]).toEqual([256n * MiB]);
    expect(d.controllerDeps.catalog.getVolume(q)!.capacityBytes).toBe(String(256n * MiB));
  });
});
