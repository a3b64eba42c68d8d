import { describe, expect, it } from 'vitest';
import { LoopsListedOnce, MountsListedOnce } from '../../../src/os/listed-once';
import type { LoopDevices, LoopInfo } from '../../../src/os/loop';
import type { Mounter, MountEntry } from '../../../src/os/mount';

class CountingLoops implements LoopDevices {
  lists = 0;
  devices: LoopInfo[] = [{ device: '/dev/loop0', file: '/s/a.img', readOnly: false }, { device: '/dev/loop1', file: '/s/a.img', readOnly: true }];
  async list(): Promise<LoopInfo[]> {
    this.lists++;
    return this.devices.map((d) => ({ ...d }));
  }
  async backing(): Promise<string[]> {
    throw new Error('not used');
  }
  async backingWritable(): Promise<string[]> {
    throw new Error('not used');
  }
  async backingReadOnly(): Promise<string[]> {
    throw new Error('not used');
  }
  async attach(file: string): Promise<string> {
    this.devices.push({ device: `/dev/loop${this.devices.length}`, file, readOnly: false });
    return `/dev/loop${this.devices.length - 1}`;
  }
  async detach(device: string): Promise<void> {
    this.devices = this.devices.filter((d) => d.device !== device);
  }
  async refreshSize(): Promise<void> {}
}

describe('LoopsListedOnce (start-up re-staging)', () => {
  it('answers every staged volume from one losetup --list', async () => {
    const inner = new CountingLoops();
    const loops = new LoopsListedOnce(inner);
    expect(await loops.backingWritable('/s/a.img')).toEqual(['/dev/loop0']);
    expect(await loops.backing('/s/a.img')).toEqual(['/dev/loop0', '/dev/loop1']);
    expect(await loops.backingReadOnly('/s/a.img')).toEqual(['/dev/loop1']);
    expect(await loops.backingWritable('/s/b.img')).toEqual([]);
    expect(inner.lists).toBe(1);
  });

  it('lists again after an attach or a detach, so it sees the change', async () => {
    const inner = new CountingLoops();
    const loops = new LoopsListedOnce(inner);
    expect(await loops.backingWritable('/s/b.img')).toEqual([]);
    const device = await loops.attach('/s/b.img');
    expect(await loops.backingWritable('/s/b.img')).toEqual([device]);
    await loops.detach('/dev/loop0');
    expect(await loops.backingWritable('/s/a.img')).toEqual([]);
    expect(inner.lists).toBe(3);
  });

  it('does not keep a failed listing', async () => {
    const inner = new CountingLoops();
    let fail = true;
    const list = inner.list.bind(inner);
    inner.list = async () => (fail ? Promise.reject(new Error('losetup failed')) : list());
    const loops = new LoopsListedOnce(inner);
    await expect(loops.list()).rejects.toThrow('losetup failed');
    fail = false;
    expect(await loops.backingWritable('/s/a.img')).toEqual(['/dev/loop0']);
  });
});

describe('MountsListedOnce (start-up re-staging)', () => {
  it('reads the mount table once until something is mounted or unmounted', async () => {
    let reads = 0;
    const entries: MountEntry[] = [];
    const inner: Mounter = {
      list: async () => {
        reads++;
        return [...entries];
      },
      bind: async () => undefined,
      mountDevice: async (device, target) => void entries.push({ source: device, mountPoint: target } as MountEntry),
      unmount: async () => undefined,
    };
    const mounts = new MountsListedOnce(inner);
    await mounts.list();
    await mounts.list();
    expect(reads).toBe(1);
    await mounts.mountDevice('/dev/loop3', '/staging/v1', 'ext4');
    expect((await mounts.list()).map((e) => e.mountPoint)).toEqual(['/staging/v1']);
    await mounts.unmount('/staging/v1');
    await mounts.list();
    expect(reads).toBe(3);
  });
});
