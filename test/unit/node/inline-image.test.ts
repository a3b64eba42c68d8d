/**
 * Inline volumes with `sizeLimit: image` over the fakes: the publish and unpublish step machine, retries after a
 * crash at each step, start-up, stats and health. Real loop devices and filesystems: test/integration/inline-image.
 */
import { status } from '@grpc/grpc-js';
import { mkdir, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compose, loadState } from '../../../src/compose';
import { SystemHealthProbe } from '../../../src/os/health-probe';
import { nodeHandlers } from '../../../src/services/node';
import { nodeVolumeFindings } from '../../../src/node/health';
import type { NodeVolumeRecord } from '../../../src/volumes/model';
import { expectCode, invoke, MiB, mountCap, nodePublishRequest, nodeUnpublishRequest, readyContext, sequentialIds, silentLogger, startDriver, volumeStatsRequest, type TestDriver } from '../../helpers/fakes';

let d: TestDriver;
const id = 'csi-inline-img';
let target: string;

beforeEach(async () => {
  d = await startDriver();
  target = path.join(d.dir, 'kubelet', 'pods', 'pod-1', 'volumes', 'inline', 'mount');
});

afterEach(async () => {
  await d.cleanup();
});

const image = () => d.layout.ephemeralImageFile(id);
const fsDir = () => d.layout.ephemeralMountDir(id);
const context = (o: Record<string, string> = {}) => ({ 'csi.storage.k8s.io/ephemeral': 'true', sizeLimit: 'image', size: '64Mi', ...o });
const publishReq = (o: Record<string, string> = {}, readonly = false, flags: string[] = []) =>
  nodePublishRequest(id, '', target, { volume_context: context(o), readonly, volume_capability: mountCap('SINGLE_NODE_WRITER', flags) });
const publish = (o: Record<string, string> = {}, readonly = false, flags: string[] = []) => invoke(d.node.NodePublishVolume, publishReq(o, readonly, flags));
const unpublish = () => invoke(d.node.NodeUnpublishVolume, nodeUnpublishRequest(id, target));
const recordFile = () => d.nodeDeps.nodeRecords.fileOf(id);
const nodeRecord = async () => JSON.parse(await readFile(recordFile(), 'utf8')) as NodeVolumeRecord;
const exists = (p: string) => stat(p).then(() => true, () => false);
const loopsOfImage = async () => d.loops.backing(image());

/** What a finished publish leaves: one image of the size, one loop on it, the fs mounted once, bound at the target. */
async function expectPublished(): Promise<void> {
  expect((await stat(image())).size).toBe(Number(64n * MiB));
  const loops = await loopsOfImage();
  expect(loops).toHaveLength(1);
  expect(d.mounter.mountsAt(fsDir()).map((m) => [m.source, m.fsType])).toEqual([[loops[0], 'ext4']]);
  expect(d.mounter.mountsAt(target).map((m) => m.source)).toEqual([loops[0]]);
  expect(await nodeRecord()).toMatchObject({
    loopDevice: loops[0],
    ephemeral: { capacityBytes: String(64n * MiB), fsType: 'ext4', formatted: true },
    targets: { [target]: { readonly: false, mode: 'SINGLE_NODE_WRITER' } },
  });
}

/**
 * What a finished unpublish leaves: nothing of the volume on the host or in the state directory. Start-up leaves
 * an empty target directory a publish made before the crash: kubelet's path, named by no record.
 */
async function expectGone(targetLeft = false): Promise<void> {
  expect(await d.loops.list()).toEqual([]);
  expect(d.mounter.entries).toEqual([]);
  expect(await exists(d.layout.ephemeralDataDir(id))).toBe(false);
  expect(await exists(recordFile())).toBe(false);
  if (targetLeft) expect(await readdir(target)).toEqual([]);
  else expect(await exists(target)).toBe(false);
}

describe('publishing an inline image volume', () => {
  it('makes a 64Mi ext4 image, attaches it, mounts it under the state dir and binds that at the target', async () => {
    await publish();
    expect(d.filesystems.made).toEqual([{ file: image(), fsType: 'ext4' }]);
    await expectPublished();
  });

  it('makes the filesystem the fsType attribute names', async () => {
    await publish({ fsType: 'xfs' });
    expect(d.filesystems.made).toEqual([{ file: image(), fsType: 'xfs' }]);
    expect(d.mounter.mountsAt(fsDir())[0]!.fsType).toBe('xfs');
  });

  it('binds read-only and with the mount flags, as a persistent publish binds its staging mount', async () => {
    await publish({}, true, ['noexec']);
    expect(d.mounter.binds).toEqual([{ source: fsDir(), target, options: { readonly: true, flags: ['noexec'] } }]);
  });

  it('answers a repeat OK with no second image, loop device or mount', async () => {
    await publish();
    await publish();
    expect(d.filesystems.made).toHaveLength(1);
    await expectPublished();
  });

  it('answers ALREADY_EXISTS when the same volume is asked for as a plain directory or another filesystem', async () => {
    await publish();
    const plain = await expectCode(invoke(d.node.NodePublishVolume, nodePublishRequest(id, '', target, { volume_context: { 'csi.storage.k8s.io/ephemeral': 'true' } })), status.ALREADY_EXISTS);
    expect(plain.details).toBe(`inline volume ${id} already exists as an ext4 image`);
    await expectCode(publish({ fsType: 'xfs' }), status.ALREADY_EXISTS);
  });

  it('refuses with FAILED_PRECONDITION, making nothing, a filesystem this kernel cannot mount', async () => {
    const proc = path.join(d.dir, 'proc-filesystems');
    const modules = path.join(d.dir, 'modules');
    await writeFile(proc, 'nodev\tsysfs\n\text4\n');
    await mkdir(modules);
    await writeFile(path.join(modules, 'modules.dep'), 'kernel/fs/btrfs/btrfs.ko: \n');
    const node = nodeHandlers(readyContext(), { ...d.nodeDeps, healthProbe: new SystemHealthProbe(path.join(d.dir, 'sysfs'), proc, modules) });
    const failure = await expectCode(invoke(node.NodePublishVolume, publishReq({ fsType: 'xfs' })), status.FAILED_PRECONDITION);
    expect(failure.details).toBe("this node's kernel cannot mount xfs (not in /proc/filesystems, no module for it): choose another fsType for the inline volume");
    expect([await exists(recordFile()), await exists(d.layout.ephemeralDataDir(id)), d.filesystems.made.length]).toEqual([false, false, 0]);
    await invoke(node.NodePublishVolume, publishReq({ fsType: 'ext4' }));
  });

  it('detaches the loop device and forgets it when the filesystem check fails, so nothing leaks', async () => {
    d.filesystems.damaged = true;
    await expectCode(publish(), status.FAILED_PRECONDITION);
    expect(await d.loops.list()).toEqual([]);
    expect((await nodeRecord()).loopDevice).toBeNull();
    d.filesystems.damaged = false;
    await publish();
    await expectPublished();
  });
});

/** The host and record as a crash after each publish step leaves them (the steps publishInlineImage takes). */
const publishCrashes: Array<[string, () => Promise<void>]> = [
  ['after the record, before the image', async () => undefined],
  ['half-way through making the image', async () => {
    await mkdir(path.dirname(image()), { recursive: true });
    await writeFile(image(), 'half a filesystem');
  }],
  ['after mkfs, before the loop device', async () => {
    await mkdir(path.dirname(image()), { recursive: true });
    await writeFile(image(), '');
    await truncate(image(), Number(64n * MiB));
    await d.nodeDeps.nodeRecords.put({ ...(await nodeRecord()), ephemeral: { capacityBytes: String(64n * MiB), fsType: 'ext4', formatted: true } });
    d.filesystems.made.push({ file: image(), fsType: 'ext4' });
  }],
];

describe('a publish retried after a crash', () => {
  const recordOnly: NodeVolumeRecord = { id, stagingPath: null, loopDevice: null, targets: {}, ephemeral: { capacityBytes: String(64n * MiB), fsType: 'ext4', formatted: false } };

  it.each(publishCrashes)('finishes the job after a crash %s, with one image made', async (_, crash) => {
    await d.nodeDeps.nodeRecords.put(recordOnly);
    await crash();
    await publish();
    expect(d.filesystems.made).toHaveLength(1);
    await expectPublished();
  });

  it('reuses the loop device attached before a crash (no second one)', async () => {
    await publish();
    await d.mounter.unmount(target);
    await d.mounter.unmount(fsDir());
    await d.nodeDeps.nodeRecords.put({ ...(await nodeRecord()), targets: {} });
    await publish();
    await expectPublished();
  });

  it('binds the filesystem mounted before a crash without mounting it again', async () => {
    await publish();
    await d.mounter.unmount(target);
    await publish();
    await expectPublished();
  });

  it('records a target bound before a crash that did not record it', async () => {
    await publish();
    await d.nodeDeps.nodeRecords.put({ ...(await nodeRecord()), targets: {} });
    await publish();
    await expectPublished();
  });
});

describe('unpublishing an inline image volume', () => {
  it('unmounts, detaches and removes everything', async () => {
    await publish();
    await unpublish();
    await expectGone();
  });

  it.each([
    ['after unmounting the target', async () => d.mounter.unmount(target)],
    ['after unmounting its own mount too', async () => {
      await d.mounter.unmount(target);
      await d.mounter.unmount(fsDir());
    }],
    ['after detaching the loop device too', async () => {
      await d.mounter.unmount(target);
      await d.mounter.unmount(fsDir());
      d.loops.attached.clear();
    }],
  ])('finishes the job when retried after a crash %s', async (_, crash) => {
    await publish();
    await crash();
    await unpublish();
    await expectGone();
  });

  it('answers a repeat OK', async () => {
    await publish();
    await unpublish();
    await unpublish();
    await expectGone();
  });
});

/** A second driver over the same state and fakes: what a restart of the process sees. */
async function restart(): Promise<void> {
  const log = silentLogger();
  const driver = compose(d.config, d.host, { log, newId: sequentialIds('again'), spaceReserve: false });
  await loadState(driver, log);
  d = { ...d, nodeDeps: driver.node!, node: nodeHandlers(readyContext(log), driver.node!) };
}

describe('an inline image volume at start-up', () => {
  it('after a reboot (no loop device, no mounts), gets its loop device and its own mount back', async () => {
    await publish();
    d.loops.attached.clear();
    d.mounter.entries.length = 0;
    await restart();
    const loops = await loopsOfImage();
    expect(loops).toHaveLength(1);
    expect(d.mounter.mountsAt(fsDir()).map((m) => m.source)).toEqual(loops);
    expect((await nodeRecord()).loopDevice).toBe(loops[0]);
    await publish();
    await expectPublished();
  });

  it("leaves alone one whose target still holds the filesystem when the driver's own mount went with its container", async () => {
    await publish();
    await d.mounter.unmount(fsDir());
    d.filesystems.checks.length = 0;
    await restart();
    expect(d.mounter.mountsAt(fsDir())).toEqual([]);
    expect(d.filesystems.checks).toEqual([]);
    const res = await invoke(d.node.NodeGetVolumeStats, volumeStatsRequest(id, target));
    expect(res.volume_condition).toEqual({ abnormal: false, message: 'inline image volume is healthy' });
    await unpublish();
    await expectGone();
  });

  it.each(publishCrashes)('cleans up one whose publish stopped %s', async (_, crash) => {
    await d.nodeDeps.nodeRecords.put({ id, stagingPath: null, loopDevice: null, targets: {}, ephemeral: { capacityBytes: String(64n * MiB), fsType: 'ext4', formatted: false } });
    await crash();
    await restart();
    await expectGone();
  });

  it('cleans up one whose publish stopped with its filesystem mounted but not yet bound', async () => {
    await publish();
    await d.mounter.unmount(target);
    await d.nodeDeps.nodeRecords.put({ ...(await nodeRecord()), targets: {} });
    await restart();
    await expectGone(true);
  });

  it('keeps one bound at a target the record does not name yet (a crash before the record)', async () => {
    await publish();
    await d.nodeDeps.nodeRecords.put({ ...(await nodeRecord()), targets: {} });
    await restart();
    expect(d.mounter.mountsAt(target)).toHaveLength(1);
    await publish();
    await expectPublished();
  });
});

describe('stats and health of an inline image volume', () => {
  const stats = () => invoke(d.node.NodeGetVolumeStats, volumeStatsRequest(id, target));

  it('reports statfs of the mounted filesystem and a healthy condition', async () => {
    await publish();
    d.statFs.stats = { totalBytes: 60n * MiB, availableBytes: 50n * MiB, totalInodes: 16384n, freeInodes: 16000n };
    const res = await stats();
    expect(d.statFs.calls.at(-1)).toBe(target);
    expect(res.usage).toEqual([
      { unit: 'BYTES', total: String(60n * MiB), used: String(10n * MiB), available: String(50n * MiB) },
      { unit: 'INODES', total: '16384', used: '384', available: '16000' },
    ]);
    expect(res.volume_condition).toEqual({ abnormal: false, message: 'inline image volume is healthy' });
  });

  it('finds its loop device and mounts gone after a reboot the driver has not yet seen (NodeGetVolumeHealth)', async () => {
    await publish();
    d.loops.attached.clear();
    d.mounter.entries.length = 0;
    const reasons = (await nodeVolumeFindings(d.nodeDeps, id)).map((f) => f.reason).sort();
    expect(reasons).toEqual(['LoopDeviceDetached', 'StagingMountMissing', 'TargetMountMissing']);
  });

  it('reports a missing image as abnormal', async () => {
    await publish();
    await rm(image());
    const res = await stats();
    expect(res.volume_condition?.abnormal).toBe(true);
    expect(res.volume_condition?.message).toContain(`volume image ${image()} is missing from the state directory`);
  });
});
