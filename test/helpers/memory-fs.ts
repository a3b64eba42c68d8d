/**
 * An in-memory HostFs (src/os/host-fs.ts) for unit tests of domain code that needs no real directory: files,
 * directories and symlinks, resolved the way the kernel resolves them (symlinks in the middle of a path always
 * followed, the last one only by stat/realpath), failing with the errno codes the real one rejects with.
 */
import path from 'node:path';
import type { EntryType, FileInfo, HostFs } from '../../src/os/host-fs';

interface Node {
  type: Exclude<EntryType, 'other'>;
  size: bigint;
  allocatedBytes: bigint;
  mode: number;
  uid: number;
  gid?: number;
  /** A symlink's target, as written. */
  target?: string;
}

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const TYPE_BITS = { directory: S_IFDIR, file: S_IFREG, symlink: S_IFLNK } as const;

function fsError(code: string, op: string, p: string): Error {
  return Object.assign(new Error(`${code}: ${op} '${p}'`), { code });
}

export class MemoryHostFs implements HostFs {
  readonly nodes = new Map<string, Node>([['/', { type: 'directory', size: 0n, allocatedBytes: 0n, mode: 0o755, uid: 0 }]]);

  /** Test setup: a directory (and its parents), a file of `size` bytes, a symlink. */
  addDir(p: string, mode = 0o755): void {
    for (let d = path.resolve(p); !this.nodes.has(d); d = path.dirname(d)) this.nodes.set(d, { type: 'directory', size: 0n, allocatedBytes: 0n, mode, uid: 0 });
  }

  addFile(p: string, size = 0n, mode = 0o644): void {
    this.addDir(path.dirname(p));
    this.nodes.set(path.resolve(p), { type: 'file', size, allocatedBytes: 0n, mode, uid: 0 });
  }

  addSymlink(p: string, target: string): void {
    this.addDir(path.dirname(p));
    this.nodes.set(path.resolve(p), { type: 'symlink', size: BigInt(target.length), allocatedBytes: 0n, mode: 0o777, uid: 0, target });
  }

  async stat(p: string): Promise<FileInfo> {
    return this.info(this.resolve(p, true, 'stat'));
  }

  async lstat(p: string): Promise<FileInfo> {
    return this.info(this.resolve(p, false, 'lstat'));
  }

  async realpath(p: string): Promise<string> {
    return this.resolve(p, true, 'realpath');
  }

  async readdir(p: string): Promise<string[]> {
    const dir = this.resolve(p, true, 'scandir');
    if (this.nodes.get(dir)!.type !== 'directory') throw fsError('ENOTDIR', 'scandir', p);
    return this.childrenOf(dir).map((c) => path.basename(c));
  }

  async mkdirs(p: string, mode = 0o777): Promise<void> {
    let at = '/';
    for (const part of path.resolve(p).split('/').filter(Boolean)) {
      const next = this.resolve(path.join(at, part), true, 'mkdir', true);
      const node = this.nodes.get(next);
      if (!node) this.nodes.set(next, { type: 'directory', size: 0n, allocatedBytes: 0n, mode, uid: 0 });
      else if (node.type !== 'directory') throw fsError(next === path.resolve(p) ? 'EEXIST' : 'ENOTDIR', 'mkdir', p);
      at = next;
    }
  }

  async chmod(p: string, mode: number): Promise<void> {
    this.nodes.get(this.resolve(p, true, 'chmod'))!.mode = mode & 0o7777;
  }

  async chown(p: string, uid: number | null, gid: number | null): Promise<void> {
    const node = this.nodes.get(this.resolve(p, true, 'chown'))!;
    if (uid !== null) node.uid = uid;
    if (gid !== null) node.gid = gid;
  }

  async removeTree(p: string): Promise<void> {
    const at = this.resolveParent(p);
    if (at === null || !this.nodes.has(at)) return;
    for (const key of [...this.nodes.keys()]) if (key === at || key.startsWith(`${at}/`)) this.nodes.delete(key);
  }

  async removeEmptyDir(p: string): Promise<void> {
    const at = this.resolve(p, false, 'rmdir');
    if (this.nodes.get(at)!.type !== 'directory') throw fsError('ENOTDIR', 'rmdir', p);
    if (this.childrenOf(at).length > 0) throw fsError('ENOTEMPTY', 'rmdir', p);
    this.nodes.delete(at);
  }

  async unlink(p: string): Promise<void> {
    const at = this.resolve(p, false, 'unlink');
    if (this.nodes.get(at)!.type === 'directory') throw fsError('EISDIR', 'unlink', p);
    this.nodes.delete(at);
  }

  async ensureFile(p: string, mode: number): Promise<void> {
    const at = this.resolve(p, true, 'open', true);
    const node = this.nodes.get(at);
    if (node?.type === 'directory') throw fsError('EISDIR', 'open', p);
    if (!node) this.createFile(at, mode, p);
  }

  async growFile(p: string, size: bigint, mode: number): Promise<void> {
    await this.ensureFile(p, mode);
    const node = this.nodes.get(this.resolve(p, true, 'open'))!;
    if (node.size < size) node.size = size;
  }

  /** Every inode under `root` (itself included; symlinks not followed; no mounts or hard links to tell apart). */
  async treeUsage(root: string): Promise<{ bytes: bigint; inodes: bigint }> {
    const at = this.resolve(root, false, 'lstat');
    let bytes = 0n;
    let inodes = 0n;
    for (const [key, node] of this.nodes) {
      if (key !== at && !key.startsWith(`${at === '/' ? '' : at}/`)) continue;
      bytes += node.allocatedBytes;
      inodes += 1n;
    }
    return { bytes, inodes };
  }

  private createFile(at: string, mode: number, p: string): void {
    if (this.nodes.get(path.dirname(at))?.type !== 'directory') throw fsError('ENOENT', 'open', p);
    this.nodes.set(at, { type: 'file', size: 0n, allocatedBytes: 0n, mode, uid: 0 });
  }

  private childrenOf(dir: string): string[] {
    return [...this.nodes.keys()].filter((k) => k !== dir && path.dirname(k) === dir);
  }

  private info(at: string): FileInfo {
    const n = this.nodes.get(at)!;
    return { type: n.type, size: n.size, allocatedBytes: n.allocatedBytes, mode: TYPE_BITS[n.type] | n.mode, uid: n.uid };
  }

  /** The path with its parent's symlinks resolved (the last name itself not followed), or null if a parent is missing. */
  private resolveParent(p: string): string | null {
    try {
      return this.resolve(p, false, 'rm');
    } catch {
      return null;
    }
  }

  /**
   * Walks `p` name by name, following symlinks (the last only when `followLast`). Missing names fail with ENOENT
   * unless `mayBeMissing` allows the last one to be absent (then its would-be path is returned).
   */
  private resolve(p: string, followLast: boolean, op: string, mayBeMissing = false): string {
    const parts = path.resolve(p).split('/').filter(Boolean);
    let at = '/';
    for (let i = 0, hops = 0; i < parts.length; i++) {
      const next = path.join(at, parts[i]!);
      const node = this.nodes.get(next);
      const last = i === parts.length - 1;
      if (!node) {
        if (last && mayBeMissing) return next;
        throw fsError('ENOENT', op, p);
      }
      if (node.type === 'symlink' && (!last || followLast)) {
        if (++hops > 40) throw fsError('ELOOP', op, p);
        parts.splice(0, i + 1, ...path.resolve(at, node.target!).split('/').filter(Boolean));
        at = '/';
        i = -1;
        continue;
      }
      if (!last && node.type !== 'directory') throw fsError('ENOTDIR', op, p);
      at = next;
    }
    return at;
  }
}
