/**
 * The controller ↔ node contract (src/contract.ts): what each side may read of or do to the other's state, on one
 * shared host.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { controllerStateOnDisk, nodeStateOnSharedHost } from '../../src/contract';
import { createVolumeId, FakeLoopDevices, FakeMounter, makeTempDir, removeDir, startDriver, type TestDriver } from '../helpers/fakes';
import { FakeFilesystems } from '../helpers/size-fakes';
import { StateLayout } from '../../src/volumes/layout';

let d: TestDriver | null = null;
let dir: string | null = null;
afterEach(async () => {
  await d?.cleanup();
  if (dir) await removeDir(dir);
  d = null;
  dir = null;
});

describe('controller state, as the node reads it', () => {
  it('reads a volume record from disk at every call: a record written after the first read is seen', async () => {
    d = await startDriver();
    const state = d.nodeDeps.controllerState;
    expect(await state.volumeRecord('vol-0001')).toBeNull();
    const id = await createVolumeId(d, 'pvc-1');
    expect(await state.volumeRecord(id)).toMatchObject({ id, name: 'pvc-1', phase: 'ready' });
    expect(state.stageSource((await state.volumeRecord(id))!)).toBe(d.layout.volumeDataDir(id));
  });

  it('rejects with the parser error for a record that does not parse, and finds a quarantined one', async () => {
    dir = await makeTempDir();
    const layout = new StateLayout(dir);
    const state = controllerStateOnDisk(layout, new Map());
    await mkdir(layout.volumeRecordsDir, { recursive: true });
    await writeFile(layout.volumeRecordFile('v1'), '{"id":');
    await expect(state.volumeRecord('v1')).rejects.toThrow();
    expect(await state.quarantinedVolumeRecord('v1')).toBeNull();
    await mkdir(layout.quarantineDir, { recursive: true });
    const moved = path.join(layout.quarantineDir, `${path.basename(layout.volumeRecordsDir)}-v1-1700000000000.json`);
    await writeFile(moved, '{"id":');
    expect(await state.quarantinedVolumeRecord('v1')).toBe(moved);
    expect(state.imageFile('v1')).toBe(layout.volumeImageFile('v1'));
  });
});

describe('node state, as the controller may touch it', () => {
  function shared(): { loops: FakeLoopDevices; mounter: FakeMounter; filesystems: FakeFilesystems } {
    return { loops: new FakeLoopDevices(), mounter: new FakeMounter(), filesystems: new FakeFilesystems() };
  }

  it("finds the node's mount of the filesystem in an image through the loop device backed by it", async () => {
    const host = shared();
    const state = nodeStateOnSharedHost(host);
    expect(await state.mountOfImage('/state/volumes/v1/disk.img')).toBeNull();
    const dev = await host.loops.attach('/state/volumes/v1/disk.img');
    await host.loops.attach('/state/volumes/v2/disk.img');
    expect(await state.mountOfImage('/state/volumes/v1/disk.img')).toBeNull();
    await host.mounter.mountDevice(dev, '/kubelet/staging/v1', 'ext4');
    expect(await state.mountOfImage('/state/volumes/v1/disk.img')).toBe('/kubelet/staging/v1');
  });

  it('freezes and thaws the mount point it is given, on the host filesystem tool', async () => {
    const host = shared();
    const state = nodeStateOnSharedHost(host);
    await state.freeze('/kubelet/staging/v1');
    expect([...host.filesystems.frozen]).toEqual(['/kubelet/staging/v1']);
    await state.thaw('/kubelet/staging/v1');
    expect(host.filesystems.frozen.size).toBe(0);
  });

  it('refreshes and detaches only the loop devices backed by the image it names', async () => {
    const host = shared();
    const state = nodeStateOnSharedHost(host);
    const [a, b] = [await host.loops.attach('/s/v1/disk.img'), await host.loops.attach('/s/v1/disk.img', { readOnly: true })];
    const other = await host.loops.attach('/s/v2/disk.img');
    await state.refreshLoopsOf('/s/v1/disk.img');
    expect(host.loops.refreshed).toEqual([a, b]);
    await state.detachLoopsOf('/s/v1/disk.img');
    expect([...host.loops.attached.keys()]).toEqual([other]);
  });
});
