import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SystemHealthProbe } from '../../../src/os/health-probe';

let dir: string;
let probe: SystemHealthProbe;
const proc = () => path.join(dir, 'filesystems');
const modules = () => path.join(dir, 'modules');

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'fs-support-'));
  probe = new SystemHealthProbe(path.join(dir, 'sysfs'), proc(), modules());
  await writeFile(proc(), 'nodev\tsysfs\nnodev\ttmpfs\n\text4\n');
});

afterEach(() => rm(dir, { recursive: true, force: true }));

describe('which filesystems the kernel can mount', () => {
  it('says yes for one /proc/filesystems lists', async () => {
    expect(await probe.filesystemSupport('ext4')).toBe('yes');
  });

  it('says yes for one whose module the running kernel has (mount loads it)', async () => {
    await mkdir(modules());
    await writeFile(path.join(modules(), 'modules.dep'), 'kernel/fs/xfs/xfs.ko.zst: kernel/lib/libcrc32c.ko\n');
    expect(await probe.filesystemSupport('xfs')).toBe('yes');
  });

  it('says no when neither the list nor the modules have it', async () => {
    await mkdir(modules());
    await writeFile(path.join(modules(), 'modules.dep'), 'kernel/fs/btrfs/btrfs.ko: \n');
    expect(await probe.filesystemSupport('xfs')).toBe('no');
  });

  it('says unknown when the modules cannot be read (a container without /lib/modules)', async () => {
    expect(await probe.filesystemSupport('xfs')).toBe('unknown');
  });
});
