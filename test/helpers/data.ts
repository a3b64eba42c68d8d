import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, chown, link, lstat, mkdir, open, readdir, readFile, readlink, rm, statfs, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Snapshot__Output } from '../../src/generated/csi/v1/Snapshot';
import type { Volume__Output } from '../../src/generated/csi/v1/Volume';
import type { VolumeCapability, _csi_v1_VolumeCapability_AccessMode_Mode as AccessMode } from '../../src/generated/csi/v1/VolumeCapability';
import type { VolumeContentSource } from '../../src/generated/csi/v1/VolumeContentSource';
import { expect } from 'vitest';
import { call } from './csi-client';
import { mountCapability, mountPoints, Scratch, type DriverProcess } from './driver-process';
import { MiB } from '../../support/units';

export { MiB } from '../../support/units';

/** Runs a command (argv, no shell) and resolves with its stdout; rejects with its stderr. */
export function run(cmd: string, args: readonly string[], timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, [...args], { timeout: timeoutMs, maxBuffer: 16 * MiB }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout),
    );
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Loop devices. They are global to the host, not to a test file: other files (and other users of the machine) may
// attach and detach devices while a file runs, so "what this file created" is judged by backing file, not by count.

export interface LoopDevice {
  device: string;
  file: string;
}

export async function loopDevices(): Promise<LoopDevice[]> {
  const out = await run('losetup', ['--list', '--json', '--output', 'NAME,BACK-FILE']);
  if (out.trim() === '') return [];
  const parsed = JSON.parse(out) as { loopdevices?: Array<{ name: string; 'back-file': string | null }> };
  return (parsed.loopdevices ?? []).map((d) => ({ device: d.name, file: (d['back-file'] ?? '').replace(/ \(deleted\)$/, '') }));
}

/** Loop devices backed by exactly `file`. */
export async function loopsBacking(file: string): Promise<string[]> {
  return (await loopDevices()).filter((l) => l.file === file).map((l) => l.device);
}

/** Loop devices backed by any file under one of `dirs`. */
export async function loopsUnder(dirs: readonly string[]): Promise<LoopDevice[]> {
  return (await loopDevices()).filter((l) => dirs.some((d) => l.file.startsWith(`${d}/`)));
}

export async function blockDeviceSize(device: string): Promise<number> {
  return Number((await run('blockdev', ['--getsize64', device])).trim());
}

/**
 * Scratch that also remembers its temp dirs, so that disposal can report (and then detach) loop devices backed by
 * files under them: a leaked loop device would outlive every temp dir.
 */
export class DataScratch extends Scratch {
  readonly roots: string[] = [];

  override async dir(): Promise<string> {
    const d = await super.dir();
    this.roots.push(d);
    return d;
  }

  async disposeAll(): Promise<{ leftMounts: string[]; leftDirs: string[]; leftLoops: string[] }> {
    const leftLoops = await loopsUnder(this.roots);
    const { leftMounts, leftDirs } = await this.dispose();
    // Detached after the unmounts (a bind-mounted device node is unmounted first), so nothing leaks from a failed run.
    for (const l of leftLoops) await run('losetup', ['--detach', l.device]).catch(() => undefined);
    return { leftMounts, leftDirs, leftLoops: leftLoops.map((l) => `${l.device} -> ${l.file}`) };
  }

  /** Disposes of everything and asserts the host is as found: no mount, directory or loop device left (afterAll). */
  async expectHostLeftClean(): Promise<void> {
    const { leftMounts, leftDirs, leftLoops } = await this.disposeAll();
    expect(leftMounts).toEqual([]);
    expect(leftDirs).toEqual([]);
    expect(leftLoops).toEqual([]);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Mounts

/** The `root` field of the top mount at `mountPoint` (for a bind mount: the bound directory inside its filesystem). */
export async function mountRootAt(mountPoint: string): Promise<string | null> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  let root: string | null = null;
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length > 4 && unescapeOctal(f[4]!) === mountPoint) root = unescapeOctal(f[3]!);
  }
  return root;
}

/** How many mounts are stacked at exactly `mountPoint`. */
export async function mountLayersAt(mountPoint: string): Promise<number> {
  return (await mountPoints()).filter((m) => m === mountPoint).length;
}

function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export interface ImageMount {
  image: string;
  mountPoint: string;
}

/** A sparse image of `bytes`, formatted as `fsType` (XFS with reflink), loop-mounted at `<dir>/mnt`. */
export async function mountFsImage(dir: string, fsType: 'xfs' | 'ext4', bytes: number): Promise<ImageMount> {
  const image = path.join(dir, `${fsType}.img`);
  const mountPoint = path.join(dir, 'mnt');
  const handle = await open(image, 'w');
  try {
    await handle.truncate(bytes);
  } finally {
    await handle.close();
  }
  if (fsType === 'xfs') await run('mkfs.xfs', ['-q', '-f', '-m', 'reflink=1', image]);
  else await run('mkfs.ext4', ['-F', '-q', image]);
  await mkdir(mountPoint);
  await run('mount', ['-o', 'loop', '-t', fsType, image, mountPoint]);
  return { image, mountPoint };
}

/** Unmounts an image mount and detaches its loop device if `mount -o loop` did not set autoclear. */
export async function unmountFsImage(m: ImageMount): Promise<void> {
  if ((await mountPoints()).includes(m.mountPoint)) await run('umount', [m.mountPoint]);
  for (const dev of await loopsBacking(m.image)) await run('losetup', ['--detach', dev]);
}

/** Bytes in use on the filesystem holding `p`, after flushing it (XFS allocates lazily). */
export async function fsUsedBytes(p: string): Promise<number> {
  await run('sync', ['-f', p]);
  const s = await statfs(p);
  return (s.blocks - s.bfree) * s.bsize;
}

// ---------------------------------------------------------------------------------------------------------------
// Bytes

export async function sha256File(p: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(p)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

/** Reads exactly `length` bytes at `offset` (of a file or a block device). */
export async function readRange(p: string, offset: number, length: number): Promise<Buffer> {
  const handle = await open(p, 'r');
  try {
    const buf = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await handle.read(buf, done, length - done, offset + done);
      if (bytesRead === 0) throw new Error(`${p}: short read at ${offset + done}`);
      done += bytesRead;
    }
    return buf;
  } finally {
    await handle.close();
  }
}

/** Writes `data` at `offset` into an existing file or block device and flushes it to stable storage. */
export async function writeRange(p: string, offset: number, data: Buffer): Promise<void> {
  const handle = await open(p, 'r+');
  try {
    let done = 0;
    while (done < data.length) done += (await handle.write(data, done, data.length - done, offset + done)).bytesWritten;
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes `bytes` of random data in 8 MiB pieces, fsynced; returns the file's SHA-256. */
export async function writeRandomFile(p: string, bytes: number): Promise<string> {
  const hash = createHash('sha256');
  const handle = await open(p, 'w', 0o644);
  try {
    for (let done = 0; done < bytes; ) {
      const piece = randomBytes(Math.min(8 * MiB, bytes - done));
      await handle.write(piece, 0, piece.length, done);
      hash.update(piece);
      done += piece.length;
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

export async function allocatedBytes(p: string): Promise<number> {
  return (await lstat(p)).blocks * 512;
}

// ---------------------------------------------------------------------------------------------------------------
// Trees: a description of everything `cp -a` promises to keep, to compare a copy with its source at one moment.

export interface EntryFacts {
  type: 'file' | 'dir' | 'symlink' | 'other';
  mode: number;
  uid: number;
  gid: number;
  mtimeNs: string;
  size?: number;
  sha256?: string;
  /** The first path (in walk order) of this inode: equal for the paths of one hard-linked inode. */
  inode?: string;
  nlink?: number;
  linkTarget?: string;
  xattrs: Record<string, string>;
}

/** `user.*` extended attributes, hex-encoded (symlinks: of the link itself). */
export async function userXattrs(p: string): Promise<Record<string, string>> {
  const out = await run('getfattr', ['--absolute-names', '--no-dereference', '--dump', '--match=^user\\.', '--encoding=hex', p]);
  const attrs: Record<string, string> = {};
  for (const line of out.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    // An attribute with an empty value is printed as its bare name.
    const eq = line.indexOf('=');
    if (eq < 0) attrs[line] = '';
    else attrs[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return attrs;
}

export async function setUserXattr(p: string, name: string, value: string): Promise<void> {
  await run('setfattr', ['--name', name, '--value', value, p]);
}

export async function removeUserXattr(p: string, name: string): Promise<void> {
  await run('setfattr', ['--remove', name, p]);
}

/** Every entry under `root` (root itself as "."), keyed by relative path. Does not follow symlinks. */
export async function describeTree(root: string): Promise<Record<string, EntryFacts>> {
  const facts: Record<string, EntryFacts> = {};
  const inodes = new Map<string, string>();
  const visit = async (rel: string): Promise<void> => {
    const abs = rel === '.' ? root : path.join(root, rel);
    const s = await lstat(abs, { bigint: true });
    const base = { mode: Number(s.mode & 0o7777n), uid: Number(s.uid), gid: Number(s.gid), mtimeNs: s.mtimeNs.toString(), xattrs: await userXattrs(abs) };
    if (s.isDirectory()) {
      facts[rel] = { type: 'dir', ...base };
      for (const name of (await readdir(abs)).sort()) await visit(rel === '.' ? name : path.join(rel, name));
    } else if (s.isSymbolicLink()) {
      facts[rel] = { type: 'symlink', ...base, linkTarget: await readlink(abs) };
    } else if (s.isFile()) {
      const ino = s.ino.toString();
      if (!inodes.has(ino)) inodes.set(ino, rel);
      facts[rel] = { type: 'file', ...base, size: Number(s.size), sha256: await sha256File(abs), inode: inodes.get(ino)!, nlink: Number(s.nlink) };
    } else {
      facts[rel] = { type: 'other', ...base };
    }
  };
  await visit('.');
  return facts;
}

/** A fixed instant with sub-second precision, so a copy that rounds times fails. */
export const FIXED_MTIME = new Date('2001-02-03T04:05:06.789Z');
export const SPARSE_SIZE = 64 * MiB;
export const SPARSE_DATA_OFFSET = 32 * MiB;

/** The contents of a sample tree, kept so that tests can compare exact bytes. */
export interface SampleTree {
  random: Buffer;
  sparseChunk: Buffer;
}

/**
 * Writes a tree with everything a filesystem volume may hold: random bytes with mode 0640 and a fixed mtime, a
 * 64 MiB sparse file with 1 MiB of data in the middle, a hard-link pair, a symlink, a file with user xattrs, a file
 * owned by another user, a sub-directory with its own mode and mtime, and an empty directory.
 */
export async function writeSampleTree(dir: string): Promise<SampleTree> {
  const random = randomBytes(256 * 1024);
  const sparseChunk = randomBytes(MiB);
  await mkdir(path.join(dir, 'sub'));
  await mkdir(path.join(dir, 'empty'));
  await writeFile(path.join(dir, 'random.bin'), random);
  await chmod(path.join(dir, 'random.bin'), 0o640);
  await utimes(path.join(dir, 'random.bin'), FIXED_MTIME, FIXED_MTIME);

  const sparse = await open(path.join(dir, 'sparse.img'), 'w', 0o600);
  await sparse.write(sparseChunk, 0, sparseChunk.length, SPARSE_DATA_OFFSET);
  await sparse.truncate(SPARSE_SIZE);
  await sparse.sync();
  await sparse.close();

  await writeFile(path.join(dir, 'hard-a'), 'one inode, two names');
  await link(path.join(dir, 'hard-a'), path.join(dir, 'sub', 'hard-b'));
  await symlink('random.bin', path.join(dir, 'link-to-random'));
  await writeFile(path.join(dir, 'attrs.txt'), 'has extended attributes');
  await setUserXattr(path.join(dir, 'attrs.txt'), 'user.origin', 'snapshot-time');
  await setUserXattr(path.join(dir, 'attrs.txt'), 'user.empty', '');
  await writeFile(path.join(dir, 'owned.txt'), 'owned by 1234:5678');
  await chown(path.join(dir, 'owned.txt'), 1234, 5678);
  await chmod(path.join(dir, 'sub'), 0o750);
  await utimes(path.join(dir, 'sub'), FIXED_MTIME, FIXED_MTIME);
  return { random, sparseChunk };
}

/** Changes every kind of entry writeSampleTree made, so a copy of the old state can be told apart from the new. */
export async function mutateSampleTree(dir: string): Promise<void> {
  await writeFile(path.join(dir, 'random.bin'), randomBytes(256 * 1024));
  await chmod(path.join(dir, 'random.bin'), 0o600);
  await writeRange(path.join(dir, 'sparse.img'), SPARSE_DATA_OFFSET, randomBytes(MiB));
  await unlink(path.join(dir, 'sub', 'hard-b'));
  await writeFile(path.join(dir, 'hard-a'), 'changed later');
  await unlink(path.join(dir, 'link-to-random'));
  await symlink('elsewhere', path.join(dir, 'link-to-random'));
  await removeUserXattr(path.join(dir, 'attrs.txt'), 'user.origin');
  await chown(path.join(dir, 'owned.txt'), 0, 0);
  await rm(path.join(dir, 'empty'), { recursive: true });
  await writeFile(path.join(dir, 'added-later.txt'), 'not in the snapshot');
}

// ---------------------------------------------------------------------------------------------------------------
// CSI calls used by the data-service tests

export function blockCapability(mode: AccessMode = 'SINGLE_NODE_WRITER'): VolumeCapability {
  return { block: {}, access_mode: { mode } };
}

export interface VolumeSpec {
  name: string;
  bytes?: number;
  block?: boolean;
  source?: VolumeContentSource;
}

export async function createVolume(driver: DriverProcess, spec: VolumeSpec): Promise<Volume__Output> {
  const c = driver.clients.controller;
  const res = await call(c.CreateVolume.bind(c), {
    name: spec.name,
    capacity_range: spec.bytes === undefined ? null : { required_bytes: String(spec.bytes) },
    volume_capabilities: [spec.block ? blockCapability() : mountCapability('SINGLE_NODE_WRITER')],
    volume_content_source: spec.source ?? null,
  });
  return res.volume!;
}

export async function createSnapshot(driver: DriverProcess, name: string, sourceVolumeId: string): Promise<Snapshot__Output> {
  const c = driver.clients.controller;
  return (await call(c.CreateSnapshot.bind(c), { name, source_volume_id: sourceVolumeId })).snapshot!;
}

export const fromSnapshot = (snapshotId: string): VolumeContentSource => ({ snapshot: { snapshot_id: snapshotId } });
export const fromVolume = (volumeId: string): VolumeContentSource => ({ volume: { volume_id: volumeId } });

export interface Published {
  volumeId: string;
  stagingPath: string;
  targetPath: string;
  capability: VolumeCapability;
}

/** NodeStage then NodePublish (read-write) under `dir`. */
export async function stageAndPublish(driver: DriverProcess, volumeId: string, dir: string, block = false): Promise<Published> {
  const p: Published = {
    volumeId,
    stagingPath: path.join(dir, 'staging', volumeId),
    targetPath: block ? path.join(dir, 'pods', volumeId, 'dev') : path.join(dir, 'pods', volumeId, 'mount'),
    capability: block ? blockCapability() : mountCapability('SINGLE_NODE_WRITER'),
  };
  const n = driver.clients.node;
  await call(n.NodeStageVolume.bind(n), { volume_id: volumeId, staging_target_path: p.stagingPath, volume_capability: p.capability });
  await publishAt(driver, p, p.targetPath);
  return p;
}

export async function publishAt(driver: DriverProcess, p: Published, targetPath: string): Promise<void> {
  const n = driver.clients.node;
  await call(n.NodePublishVolume.bind(n), {
    volume_id: p.volumeId,
    staging_target_path: p.stagingPath,
    target_path: targetPath,
    volume_capability: p.capability,
    readonly: false,
  });
}

export async function unpublishAndUnstage(driver: DriverProcess, p: Published): Promise<void> {
  const n = driver.clients.node;
  await call(n.NodeUnpublishVolume.bind(n), { volume_id: p.volumeId, target_path: p.targetPath });
  await call(n.NodeUnstageVolume.bind(n), { volume_id: p.volumeId, staging_target_path: p.stagingPath });
}

export async function deleteVolume(driver: DriverProcess, volumeId: string): Promise<void> {
  const c = driver.clients.controller;
  await call(c.DeleteVolume.bind(c), { volume_id: volumeId });
}
