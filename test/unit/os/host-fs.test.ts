/**
 * One contract, two implementations: the real HostFs over a temp dir and the in-memory fake the domain's unit tests
 * use (test/helpers/memory-fs.ts) must answer the same, so a test passing on the fake says something about the host.
 */
import { symlink } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { systemHostFs, type HostFs } from '../../../src/os/host-fs';
import { makeTempDir, removeDir } from '../../helpers/fakes';
import { MemoryHostFs } from '../../helpers/memory-fs';

interface Subject {
  fs: HostFs;
  root: string;
  symlink(p: string, target: string): Promise<void>;
  done(): Promise<void>;
}

const subjects: Record<string, () => Promise<Subject>> = {
  system: async () => {
    const root = await makeTempDir();
    return { fs: systemHostFs, root, symlink: (p, t) => symlink(t, p), done: () => removeDir(root) };
  },
  memory: async () => {
    const fs = new MemoryHostFs();
    fs.addDir('/tmp/unit');
    return { fs, root: '/tmp/unit', symlink: async (p, t) => fs.addSymlink(p, t), done: async () => undefined };
  },
};

const codeOf = (p: Promise<unknown>): Promise<string | undefined> => p.then(() => undefined, (err: NodeJS.ErrnoException) => err.code);

describe.each(Object.keys(subjects))('HostFs contract (%s)', (name) => {
  let s: Subject;
  afterEach(async () => s.done());
  const start = async (): Promise<Subject> => (s = await subjects[name]!());

  it('creates nested directories with the mode asked, and again without failing', async () => {
    const { fs, root } = await start();
    const dir = path.join(root, 'a', 'b');
    await fs.mkdirs(dir, 0o750);
    await fs.mkdirs(dir, 0o750);
    expect(await fs.readdir(root)).toEqual(['a']);
    const info = await fs.stat(dir);
    expect(info.type).toBe('directory');
    expect(info.mode & 0o777).toBe(0o750);
  });

  it('grows a file to the size asked, never shrinks it, and keeps an existing file by ensureFile', async () => {
    const { fs, root } = await start();
    const file = path.join(root, 'disk.img');
    await fs.growFile(file, 4096n, 0o600);
    await fs.growFile(file, 1024n, 0o600);
    await fs.ensureFile(file, 0o600);
    const info = await fs.lstat(file);
    expect([info.type, info.size, info.mode & 0o777]).toEqual(['file', 4096n, 0o600]);
  });

  it('tells a symlink from its target and resolves it', async () => {
    const { fs, root } = await start();
    await fs.mkdirs(path.join(root, 'real'));
    await s.symlink(path.join(root, 'link'), path.join(root, 'real'));
    expect((await fs.lstat(path.join(root, 'link'))).type).toBe('symlink');
    expect((await fs.stat(path.join(root, 'link'))).type).toBe('directory');
    expect(await fs.realpath(path.join(root, 'link'))).toBe(await fs.realpath(path.join(root, 'real')));
    expect(await codeOf(fs.realpath(path.join(root, 'missing')))).toBe('ENOENT');
  });

  it('removes only an empty directory with removeEmptyDir, anything with removeTree, and nothing there is fine', async () => {
    const { fs, root } = await start();
    await fs.mkdirs(path.join(root, 'd', 'e'));
    expect(await codeOf(fs.removeEmptyDir(path.join(root, 'd')))).toBe('ENOTEMPTY');
    await fs.removeTree(path.join(root, 'd'));
    await fs.removeTree(path.join(root, 'd'));
    expect(await fs.readdir(root)).toEqual([]);
    expect(await codeOf(fs.unlink(path.join(root, 'gone')))).toBe('ENOENT');
  });

  it('counts every inode of a tree (the directory itself included) for a directory volume\'s usage', async () => {
    const { fs, root } = await start();
    await fs.mkdirs(path.join(root, 'vol', 'sub'));
    await fs.ensureFile(path.join(root, 'vol', 'a'), 0o644);
    await fs.growFile(path.join(root, 'vol', 'sub', 'b'), 1024n * 1024n, 0o644);
    expect((await fs.treeUsage(path.join(root, 'vol'))).inodes).toBe(4n);
  });
});
