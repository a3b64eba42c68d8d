import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SystemLoopDevices } from '../../../src/os/loop';

/** glibc's encoding of a device number into st_dev, the inverse of what loop.ts decodes. */
function majMin(dev: bigint): string {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

/**
 * What losetup reported on the local cluster after the driver's pod was replaced: loop0 attached by the old pod
 * (its backing path now shown below the gone container's mount root) and loop2, the same file attached again by
 * the new pod through its own mount. A 3rd device backs another file.
 */
function losetupJson(image: string, id: { dev: bigint; ino: bigint }): string {
  const back = { 'back-ino': Number(id.ino), 'back-maj:min': `     ${majMin(id.dev)}  ` };
  return JSON.stringify({
    loopdevices: [
      { name: '/dev/loop2', 'back-file': image, ...back, ro: false },
      { name: '/dev/loop0', 'back-file': `/volumes/v1/${path.basename(image)}`, ...back, ro: false },
      { name: '/dev/loop1', 'back-file': `/volumes/v1/${path.basename(image)}`, ...back, ro: true },
      { name: '/dev/loop3', 'back-file': '/elsewhere/disk.img', 'back-ino': Number(id.ino) + 1, 'back-maj:min': majMin(id.dev), ro: false },
    ],
  });
}

describe('SystemLoopDevices finds the loop devices of a file', () => {
  let dir: string;
  let image: string;
  let loops: SystemLoopDevices;
  const calls: string[][] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'loop-test-'));
    image = path.join(dir, 'disk.img');
    await writeFile(image, '');
    const s = await stat(image, { bigint: true });
    loops = new SystemLoopDevices(async (file, args) => {
      calls.push([file, ...args]);
      return losetupJson(image, s);
    });
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('by device and inode, also where the kernel reports the path through a mount namespace that is gone', async () => {
    expect(await loops.backing(image)).toEqual(['/dev/loop2', '/dev/loop0', '/dev/loop1']);
    expect(calls.at(-1)).toEqual(['losetup', '--list', '--json', '--output', 'NAME,BACK-FILE,BACK-INO,BACK-MAJ:MIN,RO']);
  });

  it('splits them into read-write and read-only', async () => {
    expect(await loops.backingWritable(image)).toEqual(['/dev/loop2', '/dev/loop0']);
    expect(await loops.backingReadOnly(image)).toEqual(['/dev/loop1']);
  });

  it('by path alone when the file is gone (its identity cannot be known)', async () => {
    expect(await loops.backing(path.join(dir, 'missing.img'))).toEqual([]);
    expect(await loops.backing('/elsewhere/disk.img')).toEqual(['/dev/loop3']);
  });
});
