/**
 * Inline volumes with `sizeLimit: image` on real loop devices and filesystems: the size is enforced from inside the
 * pod's mount (ENOSPC), unpublish leaves nothing, and a driver restarted over state a crash left (doctored as each
 * step leaves it) finishes or cleans up. The step machine itself, with fakes: test/unit/node/inline-image.test.ts.
 */
import { status } from '@grpc/grpc-js';
import { readFile, writeFile } from 'node:fs/promises';
import { statfs } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, codeOf } from '../helpers/csi-client';
import { DataScratch, loopsBacking, MiB, run } from '../helpers/data';
import { exists, isMountPoint, isRoot, mountCapability, NEEDS_ROOT, type DriverProcess } from '../helpers/driver-process';
import { fillUntilFull, writeFailedForSpace } from '../helpers/size-limits';

const scratch = new DataScratch();

afterAll(() => scratch.expectHostLeftClean());

/** ext4's journal (4 MiB at this size) and other metadata: how far under the image size the filesystem's total may be. */
const SLACK = 12 * MiB;

describe.skipIf(!isRoot)(`inline image volumes${NEEDS_ROOT}`, () => {
  let root: string;
  let driver: DriverProcess;

  const target = (id: string): string => path.join(root, 'pods', id, 'volumes', 'inline', 'mount');
  const dataDir = (id: string): string => path.join(driver.stateDir, 'ephemeral', id);
  const image = (id: string): string => path.join(dataDir(id), 'disk.img');
  const fsDir = (id: string): string => path.join(dataDir(id), 'fs');
  const recordFile = (id: string): string => path.join(driver.stateDir, 'records', 'node', `${id}.json`);

  const publish = async (id: string, attrs: Record<string, string> = {}, readonly = false): Promise<void> => {
    const n = driver.clients.node;
    await call(n.NodePublishVolume.bind(n), {
      volume_id: id,
      target_path: target(id),
      volume_capability: mountCapability('SINGLE_NODE_WRITER'),
      readonly,
      volume_context: { 'csi.storage.k8s.io/ephemeral': 'true', sizeLimit: 'image', size: '64Mi', ...attrs },
    });
  };
  const unpublish = async (id: string): Promise<void> => {
    const n = driver.clients.node;
    await call(n.NodeUnpublishVolume.bind(n), { volume_id: id, target_path: target(id) });
  };
  const fsTypeAt = async (p: string): Promise<string> => (await run('findmnt', ['-n', '-o', 'FSTYPE', '--mountpoint', p])).trim();
  /** Everything of the volume that could be left: its files, record, target, mounts and loop devices. */
  const leftovers = async (id: string): Promise<string[]> => {
    const found: string[] = [];
    for (const p of [target(id), dataDir(id), recordFile(id)]) if (await exists(p)) found.push(p);
    for (const p of [target(id), fsDir(id)]) if (await isMountPoint(p)) found.push(`mount ${p}`);
    const loops = (await run('losetup', ['--list', '--noheadings', '--output', 'NAME,BACK-FILE'])).split('\n').filter((l) => l.includes(dataDir(id)));
    return [...found, ...loops];
  };
  /** A driver restarted over the same state directory. */
  const restart = async (before?: () => Promise<void>): Promise<void> => {
    expect((await driver.stop()).code).toBe(0);
    await before?.();
    driver = await scratch.start({ root, stateDir: driver.stateDir });
  };
  const editRecord = async (id: string, edit: (r: Record<string, unknown>) => Record<string, unknown>): Promise<void> => {
    await writeFile(recordFile(id), JSON.stringify(edit(JSON.parse(await readFile(recordFile(id), 'utf8')) as Record<string, unknown>)));
  };

  beforeAll(async () => {
    root = await scratch.dir();
    driver = await scratch.start({ root });
  });

  afterAll(async () => {
    expect((await driver.stop()).code).toBe(0);
  });

  describe('a 64Mi ext4 inline image through its life', () => {
    const id = 'csi-inline-img-64';

    it('mounts an ext4 filesystem of at most 64Mi at the target, and the stats say what statfs says', async () => {
      await publish(id);
      expect(await fsTypeAt(target(id))).toBe('ext4');
      expect(await loopsBacking(image(id))).toHaveLength(1);
      const fs = await statfs(target(id));
      const total = fs.blocks * fs.bsize;
      expect(total).toBeLessThanOrEqual(64 * MiB);
      expect(total).toBeGreaterThan(64 * MiB - SLACK);
      const n = driver.clients.node;
      const res = await call(n.NodeGetVolumeStats.bind(n), { volume_id: id, volume_path: target(id) });
      expect(res.usage.find((u) => u.unit === 'BYTES')!.total).toBe(String(total));
      expect(res.volume_condition).toEqual({ abnormal: false, message: 'inline image volume is healthy' });
    });

    it('refuses a write past its size with ENOSPC inside the mount, once what statfs showed available is written', async () => {
      const fs = await statfs(target(id));
      const fill = await fillUntilFull(path.join(target(id), 'fill.bin'));
      expect(writeFailedForSpace(fill.error), fill.error).toBe(true);
      expect(fill.written).toBeLessThanOrEqual(64 * MiB);
      expect(Math.abs(fill.written - fs.bavail * fs.bsize)).toBeLessThanOrEqual(MiB);
    });

    it('unpublish leaves no loop device, mount, file or record', async () => {
      await unpublish(id);
      expect(await leftovers(id)).toEqual([]);
      await unpublish(id);
    });
  });

  it('makes xfs when fsType says so (320Mi: mkfs.xfs refuses smaller)', async () => {
    const id = 'csi-inline-img-xfs';
    await publish(id, { fsType: 'xfs', size: '320Mi' });
    expect(await fsTypeAt(target(id))).toBe('xfs');
    await unpublish(id);
    expect(await leftovers(id)).toEqual([]);
  });

  it('a read-only publish refuses writes (EROFS)', async () => {
    const id = 'csi-inline-img-ro';
    await publish(id, {}, true);
    await expect(writeFile(path.join(target(id), 'x'), 'x')).rejects.toMatchObject({ code: 'EROFS' });
    await unpublish(id);
    expect(await leftovers(id)).toEqual([]);
  });

  it('sizeLimit quota is INVALID_ARGUMENT and makes nothing', async () => {
    const id = 'csi-inline-img-quota';
    expect(await codeOf(publish(id, { sizeLimit: 'quota' }))).toBe(status.INVALID_ARGUMENT);
    expect(await leftovers(id)).toEqual([]);
  });

  describe('after a crash', () => {
    it('a reboot (no mounts, no loop device): start-up attaches and mounts it again, the retried publish shows its data', async () => {
      const id = 'csi-inline-img-reboot';
      await publish(id);
      await writeFile(path.join(target(id), 'kept.txt'), 'before the reboot');
      await restart(async () => {
        await run('umount', [target(id)]);
        await run('umount', [fsDir(id)]);
        for (const loop of await loopsBacking(image(id))) await run('losetup', ['--detach', loop]);
      });
      expect(await loopsBacking(image(id))).toHaveLength(1);
      expect(await isMountPoint(fsDir(id))).toBe(true);
      await publish(id);
      expect(await readFile(path.join(target(id), 'kept.txt'), 'utf8')).toBe('before the reboot');
      await unpublish(id);
      expect(await leftovers(id)).toEqual([]);
    });

    it('between its own mount and the bind: start-up cleans it up (its pod never had it)', async () => {
      const id = 'csi-inline-img-unbound';
      await publish(id);
      await restart(async () => {
        await run('umount', [target(id)]);
        await editRecord(id, (r) => ({ ...r, targets: {} }));
      });
      expect((await leftovers(id)).filter((l) => l !== target(id))).toEqual([]);
      await run('rmdir', [target(id)]);
    });

    it('half-way through mkfs: start-up removes the half-made image; a retried publish makes it afresh', async () => {
      const id = 'csi-inline-img-mkfs';
      await publish(id);
      await unpublish(id);
      await restart(async () => {
        await run('mkdir', ['-p', dataDir(id)]);
        await writeFile(image(id), 'half a filesystem');
        const record = { id, stagingPath: null, loopDevice: null, targets: {}, ephemeral: { capacityBytes: String(64 * MiB), fsType: 'ext4', formatted: false } };
        await writeFile(recordFile(id), JSON.stringify(record));
      });
      expect(await leftovers(id)).toEqual([]);
      await publish(id);
      expect(await fsTypeAt(target(id))).toBe('ext4');
      await unpublish(id);
      expect(await leftovers(id)).toEqual([]);
    });

    it('in unpublish after both unmounts: the retry detaches the loop device and removes the rest', async () => {
      const id = 'csi-inline-img-unpub';
      await publish(id);
      await run('umount', [target(id)]);
      await run('umount', [fsDir(id)]);
      expect(await loopsBacking(image(id))).toHaveLength(1);
      await unpublish(id);
      expect(await leftovers(id)).toEqual([]);
    });
  });
});
