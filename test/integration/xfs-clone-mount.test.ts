import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/os/exec';
import { SystemMounter } from '../../src/os/mount';
import { cleanupDir, isRoot, NEEDS_ROOT } from '../helpers/driver-process';

const run = promisify(execFile);

/**
 * A clone or restore of an xfs image volume is a copy of the image, so it has the source's filesystem UUID; xfs
 * refuses to mount a second filesystem with a UUID already mounted unless told `nouuid`. Kubernetes' External Storage
 * suite stages a volume and its clone on one node at once (multiVolume, "the volume and its clone").
 */
describe.skipIf(!isRoot)(`SystemMounter.mountDevice with xfs copies${NEEDS_ROOT}`, () => {
  let dir = '';
  const loops: string[] = [];
  const mounted: string[] = [];
  const mounter = new SystemMounter(runCommand);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'hpcsi-xfs-clone-'));
  });
  afterAll(async () => {
    for (const m of mounted.reverse()) await mounter.unmount(m).catch(() => undefined);
    for (const l of loops) await run('losetup', ['-d', l]).catch(() => undefined);
    await cleanupDir(dir);
  });

  async function attach(image: string): Promise<string> {
    const { stdout } = await run('losetup', ['--find', '--show', '--', image]);
    loops.push(stdout.trim());
    return stdout.trim();
  }

  it('mounts an xfs image and its copy side by side', async () => {
    const source = path.join(dir, 'source.img');
    await writeFile(source, '');
    await truncate(source, 320 * 1024 * 1024);
    await run('mkfs.xfs', ['-f', '-q', '--', source]);
    const targets = [path.join(dir, 'source'), path.join(dir, 'clone')];
    for (const t of targets) await mkdir(t);
    await mounter.mountDevice(await attach(source), targets[0]!, 'xfs');
    mounted.push(targets[0]!);
    await writeFile(path.join(targets[0]!, 'data'), 'written before the copy');
    await run('sync');
    await copyFile(path.join(dir, 'source.img'), path.join(dir, 'clone.img'));

    await mounter.mountDevice(await attach(path.join(dir, 'clone.img')), targets[1]!, 'xfs');
    mounted.push(targets[1]!);

    expect((await mounter.list()).filter((m) => targets.includes(m.mountPoint)).map((m) => m.mountPoint).sort()).toEqual([...targets].sort());
    expect(await readFile(path.join(targets[1]!, 'data'), 'utf8')).toBe('written before the copy');
  });
});
