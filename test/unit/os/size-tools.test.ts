import { describe, expect, it } from 'vitest';
import { ext4Bytes } from '../../../src/os/filesystem';
import { parseMountInfo } from '../../../src/os/mount';
import { mountHolding, quotaSupportOf } from '../../../src/os/project-quota';
import { PROJECT_ID_BASE, ProjectIdAllocator } from '../../../src/kinds/quota/project-ids';

const MOUNTINFO = [
  '22 1 253:0 / / rw,relatime shared:1 - ext4 /dev/vda rw',
  '40 22 7:3 / /var/lib/hostpath-csi rw,relatime shared:20 - xfs /dev/loop3 rw,attr2,inode64,logbufs=8,prjquota',
  '41 22 7:4 / /srv rw,relatime shared:21 - xfs /dev/loop4 rw,attr2,inode64,noquota',
].join('\n');

describe('project quota detection', () => {
  const mounts = parseMountInfo(MOUNTINFO);

  it('reads the filesystem\'s own options from mountinfo', () => {
    expect(mounts[1]!.superOptions).toContain('prjquota');
  });

  it('finds the mount holding a directory by device and longest mount point', () => {
    expect(mountHolding(mounts, '/var/lib/hostpath-csi/volumes', '7:3')?.mountPoint).toBe('/var/lib/hostpath-csi');
    expect(mountHolding(mounts, '/var/lib/other', '253:0')?.mountPoint).toBe('/');
  });

  it('says supported for XFS or ext4 with prjquota, and why not otherwise', () => {
    expect(quotaSupportOf(mounts[1])).toEqual({ supported: true, mountPoint: '/var/lib/hostpath-csi', fsType: 'xfs' });
    expect(quotaSupportOf(mounts[2])).toMatchObject({ supported: false, reason: expect.stringMatching(/not mounted with prjquota/) });
    expect(quotaSupportOf({ ...mounts[1]!, fsType: 'tmpfs' })).toMatchObject({ supported: false, reason: expect.stringMatching(/must be XFS or ext4/) });
    expect(quotaSupportOf(undefined)).toMatchObject({ supported: false });
  });
});

describe('ProjectIdAllocator', () => {
  it('skips IDs adopted from records and never hands out one twice', () => {
    const ids = new ProjectIdAllocator();
    ids.adopt([PROJECT_ID_BASE, null, PROJECT_ID_BASE + 2]);
    expect([ids.take(), ids.take(), ids.take()]).toEqual([PROJECT_ID_BASE + 1, PROJECT_ID_BASE + 3, PROJECT_ID_BASE + 4]);
  });

  it('takes a released ID again only later', () => {
    const ids = new ProjectIdAllocator();
    const first = ids.take();
    ids.release(first);
    expect(ids.take()).toBe(first + 1);
    expect(ids.has(first)).toBe(false);
  });
});

describe('ext4Bytes', () => {
  it('multiplies block count by block size from dumpe2fs -h', () => {
    expect(ext4Bytes('Filesystem volume name:   <none>\nBlock count:              65536\nBlock size:               1024\n')).toBe(67108864n);
  });

  it('throws when the header lacks them', () => {
    expect(() => ext4Bytes('nothing here')).toThrow(/block count/);
  });
});
