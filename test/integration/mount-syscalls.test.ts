import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/os/exec';
import { SystemMounter } from '../../src/os/mount';
import { SyscallError } from '../../src/os/mount-syscalls';
import { cleanupDir, isRoot, NEEDS_ROOT } from '../helpers/driver-process';

/** The bind mounts of NodeStage/NodePublish are mount(2)/umount2(2) calls, not processes: what they do on a real host. */
describe.skipIf(!isRoot)(`SystemMounter bind mounts by syscall${NEEDS_ROOT}`, () => {
  let dir = '';
  const mounter = new SystemMounter(runCommand);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'hpcsi-mount-syscalls-'));
    await mkdir(path.join(dir, 'source'));
    await writeFile(path.join(dir, 'source', 'file'), 'through the bind');
  });
  afterAll(async () => cleanupDir(dir));

  async function mountPoints(): Promise<string[]> {
    return (await mounter.list()).map((m) => m.mountPoint).filter((p) => p.startsWith(dir));
  }

  it('binds a directory read-write and unmounts it as a bind', async () => {
    const target = path.join(dir, 'rw');
    await mkdir(target);
    await mounter.bind(path.join(dir, 'source'), target, { readonly: false, flags: [] });
    expect(await mountPoints()).toEqual([target]);
    const entry = (await mounter.list()).find((m) => m.mountPoint === target)!;
    expect(entry.root.endsWith('/source')).toBe(true);
    expect(entry.options).toContain('rw');
    expect(await readFile(path.join(target, 'file'), 'utf8')).toBe('through the bind');
    await mounter.unmount(target, 'bind');
    expect(await mountPoints()).toEqual([]);
  });

  it('binds read-only through the remount, which refuses writes', async () => {
    const target = path.join(dir, 'ro');
    await mkdir(target);
    await mounter.bind(path.join(dir, 'source'), target, { readonly: true, flags: [] });
    expect((await mounter.list()).find((m) => m.mountPoint === target)!.options).toContain('ro');
    await expect(writeFile(path.join(target, 'new'), 'x')).rejects.toMatchObject({ code: 'EROFS' });
    await mounter.unmount(target, 'bind');
    expect(await mountPoints()).toEqual([]);
  });

  it('fails with the errno name, never a numeric code, when the source does not exist', async () => {
    const target = path.join(dir, 'missing-source');
    await mkdir(target);
    const err = await mounter.bind(path.join(dir, 'nothing-here'), target, { readonly: false, flags: [] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SyscallError);
    expect((err as SyscallError).errno).toBe('ENOENT');
    expect((err as { code?: unknown }).code).toBeUndefined();
    expect(await mountPoints()).toEqual([]);
  });

  it('fails with EINVAL when unmounting a directory that is not a mount point', async () => {
    const err = await mounter.unmount(path.join(dir, 'source'), 'bind').catch((e: unknown) => e);
    expect((err as SyscallError).errno).toBe('EINVAL');
  });
});
