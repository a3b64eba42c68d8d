/**
 * sizeLimit quota as the kernel sees it, on XFS and on ext4 (project feature) mounted with prjquota: each volume's
 * directory is its own project with a hard limit of its capacity, a clone's files count against the clone's own
 * project, GetCapacity keeps the unused part of every limit out of what it offers, and DeleteVolume removes the
 * limit and the usage. Read back with xfs_io/xfs_quota, not through the driver. Only a kernel with project quotas
 * runs it (this project's hosts skip it; test/vm/ runs it on Debian's distribution kernel).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../helpers/csi-client';
import { DataScratch, deleteVolume, fromVolume, MiB, run, stageAndPublish, unpublishAndUnstage, writeRandomFile, type ImageMount } from '../helpers/data';
import { isRoot, mountCapability, NEEDS_ROOT, type DriverProcess } from '../helpers/driver-process';
import { canMountProjectQuota, createSizedVolume, mountHostFs, unmountHostFs, type HostFs } from '../helpers/size-limits';

const scratch = new DataScratch();

afterAll(() => scratch.expectHostLeftClean());

/** Metadata of a small filesystem: how far from the exact figure a count may land. */
const SLACK = 8 * MiB;
const NO_PRJQUOTA = ' [SKIPPED: this kernel cannot mount it with prjquota (no CONFIG_XFS_QUOTA / CONFIG_QFMT_V2)]';

/** The project ID of a file or directory (FS_IOC_FSGETXATTR, the same on XFS and ext4). */
async function projectOf(p: string): Promise<number> {
  const out = await run('xfs_io', ['-c', 'lsproj', p]);
  const m = /projid = (\d+)/.exec(out);
  if (!m) throw new Error(`xfs_io lsproj ${p}: ${out}`);
  return Number(m[1]);
}

/** Per project ID: blocks used and hard limit in bytes, as the quota subsystem reports them (`-f`: ext4 too). */
async function projectReport(mountPoint: string): Promise<Map<number, { used: number; hard: number }>> {
  const out = await run('xfs_quota', ['-f', '-x', '-c', 'report -p -n -b -N', mountPoint]);
  const report = new Map<number, { used: number; hard: number }>();
  for (const m of out.matchAll(/^#(\d+)\s+(\d+)\s+\d+\s+(\d+)/gm)) report.set(Number(m[1]), { used: Number(m[2]) * 1024, hard: Number(m[3]) * 1024 });
  return report;
}

function quotaSuite(hostFs: Exclude<HostFs, 'ext4'>): void {
  const enabled = isRoot && canMountProjectQuota(hostFs);
  describe.skipIf(!enabled)(`quota volumes as the kernel sees them on ${hostFs}${isRoot ? (enabled ? '' : NO_PRJQUOTA) : NEEDS_ROOT}`, () => {
    let host: ImageMount;
    let driver: DriverProcess;
    let root: string;
    const volumeDir = (id: string): string => path.join(host.mountPoint, 'state', 'volumes', id);
    const free = async (): Promise<number> => {
      const c = driver.clients.controller;
      return Number((await call(c.GetCapacity.bind(c), { parameters: { sizeLimit: 'quota' } })).available_capacity);
    };

    beforeAll(async () => {
      root = await scratch.dir();
      host = await mountHostFs(root, hostFs, 1024 * MiB);
      driver = await scratch.start({ root, stateDir: path.join(host.mountPoint, 'state') });
    });

    afterAll(async () => {
      expect((await driver.stop()).code).toBe(0);
      await unmountHostFs(host);
    });

    it('gives each volume its own project, limited to its capacity, and DeleteVolume removes limit and usage', async () => {
      const a = await createSizedVolume(driver, 'pv-project-a', 64 * MiB, { sizeLimit: 'quota' });
      const b = await createSizedVolume(driver, 'pv-project-b', 96 * MiB, { sizeLimit: 'quota' });
      const [idA, idB] = [await projectOf(volumeDir(a.volumeId)), await projectOf(volumeDir(b.volumeId))];
      expect(idA).toBeGreaterThanOrEqual(1_000_000);
      expect(idB).not.toBe(idA);
      const before = await projectReport(host.mountPoint);
      expect(before.get(idA)?.hard).toBe(64 * MiB);
      expect(before.get(idB)?.hard).toBe(96 * MiB);
      await deleteVolume(driver, a.volumeId);
      const after = await projectReport(host.mountPoint);
      // XFS drops a project without limits or usage from the report; ext4 lists it with zeros.
      expect(after.get(idA) ?? { used: 0, hard: 0 }).toEqual({ used: 0, hard: 0 });
      expect(after.get(idB)?.hard).toBe(96 * MiB);
      await deleteVolume(driver, b.volumeId);
    });

    it('counts a clone\'s files against the clone\'s own project and limit', async () => {
      const source = await createSizedVolume(driver, 'pv-clone-src', 64 * MiB, { sizeLimit: 'quota' });
      const pub = await stageAndPublish(driver, source.volumeId, path.join(root, 'src'));
      await writeRandomFile(path.join(pub.targetPath, 'data.bin'), 16 * MiB);
      await unpublishAndUnstage(driver, pub);
      const c = driver.clients.controller;
      const clone = (await call(c.CreateVolume.bind(c), {
        name: 'pv-clone',
        capacity_range: { required_bytes: String(128 * MiB) },
        volume_capabilities: [mountCapability('SINGLE_NODE_WRITER')],
        parameters: { sizeLimit: 'quota' },
        volume_content_source: fromVolume(source.volumeId),
      })).volume!;
      const cloneProject = await projectOf(volumeDir(clone.volume_id));
      expect(cloneProject).not.toBe(await projectOf(volumeDir(source.volumeId)));
      expect(await projectOf(path.join(volumeDir(clone.volume_id), 'data.bin'))).toBe(cloneProject);
      const project = (await projectReport(host.mountPoint)).get(cloneProject)!;
      expect(project.hard).toBe(128 * MiB);
      expect(Math.abs(project.used - 16 * MiB)).toBeLessThanOrEqual(SLACK);
      await deleteVolume(driver, clone.volume_id);
      await deleteVolume(driver, source.volumeId);
    });

    it('GetCapacity keeps the unused part of a quota volume\'s limit out of what it offers, and DeleteVolume gives it back', async () => {
      const before = await free();
      const vol = await createSizedVolume(driver, 'pv-reserve', 256 * MiB, { sizeLimit: 'quota' });
      expect(Math.abs(before - (await free()) - 256 * MiB)).toBeLessThanOrEqual(SLACK);
      const pub = await stageAndPublish(driver, vol.volumeId, path.join(root, 'reserve'));
      await writeRandomFile(path.join(pub.targetPath, 'data.bin'), 64 * MiB);
      // What the volume uses now comes off the filesystem's free space instead of off the reservation: same total.
      expect(Math.abs(before - (await free()) - 256 * MiB)).toBeLessThanOrEqual(SLACK);
      await unpublishAndUnstage(driver, pub);
      await deleteVolume(driver, vol.volumeId);
      expect(Math.abs((await free()) - before)).toBeLessThanOrEqual(SLACK);
    });
  });
}

quotaSuite('xfs-prjquota');
quotaSuite('ext4-prjquota');
