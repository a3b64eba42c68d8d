import type { MountEntry } from '../os/mount';
import { blockImage } from './block';
import type { NodeDeps } from './node-deps';
import { isStaticVolumeId } from '../volumes/static';

/** The mount currently visible at `path` (the last one stacked there), if any. */
export function topMountAt(mounts: readonly MountEntry[], path: string): MountEntry | undefined {
  let found: MountEntry | undefined;
  for (const m of mounts) if (m.mountPoint === path) found = m;
  return found;
}

/**
 * Whether a mount shows this volume: for a filesystem volume, the bound root is `.../volumes/<id>` (or, inline,
 * `.../ephemeral/<id>`) on the state
 * directory's filesystem; for a block volume, it is a loop device node (`/loopN` on devtmpfs) backed by the
 * volume's image; for an image volume, the root of the filesystem on such a loop device. Used so that unpublish and
 * unstage never unmount something that is not ours.
 */
export async function isVolumeMount(deps: NodeDeps, entry: MountEntry, volumeId: string): Promise<boolean> {
  // A bind whose source directory was removed keeps showing it, with "//deleted" appended to the root in mountinfo
  // (fs/d_path.c, dentry_path). It is still this volume's mount: NodeGetVolumeStats must answer its abnormal
  // condition (kubelet drops a failed call) and unpublish/unstage must still unmount it.
  const root = entry.root.replace(/\/\/deleted$/, '');
  const ownRoot = deps.layout.volumeMountRoots(volumeId).some((suffix) => root.endsWith(suffix));
  if (ownRoot) return entry.device === (await deps.deviceOf(deps.layout.volumesDir));
  if (await isBindOfRootedDir(deps, entry, volumeId)) return true;
  const loop = /^\/(loop\d+)$/.exec(entry.root);
  // An image volume's own filesystem (or a bind of it): mounted from a loop device backed by the volume's image.
  const fsOnLoop = entry.root === '/' && /^\/dev\/loop\d+$/.test(entry.source) ? entry.source : null;
  const device = loop ? `/dev/${loop[1]}` : fsOnLoop;
  if (device === null) return false;
  if ((await deps.loops.backing(blockImage(deps, volumeId))).includes(device)) return true;
  return loop !== null && detachedUnderVolume(deps, volumeId, device);
}

/**
 * A block volume's loop device detached under its binds (losetup -d while no one holds it open) leaves the binds of
 * its node in place. They are still this volume's when its node record names that device and nothing backs the
 * device now: once another file backs it, the name belongs to someone else (the kernel reuses free names), so the
 * record alone never decides. NodeGetVolumeStats must answer the LoopDeviceDetached condition (kubelet drops a
 * failed call), and unpublish/unstage must still remove the binds.
 */
async function detachedUnderVolume(deps: NodeDeps, volumeId: string, device: string): Promise<boolean> {
  const record = deps.nodeRecords.get(volumeId);
  const named = [record?.loopDevice, ...Object.values(record?.targets ?? {}).map((t) => t.loopDevice)];
  if (!named.includes(device)) return false;
  return !(await deps.loops.list()).some((l) => l.device === device);
}

/**
 * A dir volume a class put under one of --volume-roots (src/volumes/placement.ts): a bind of its directory shows, as
 * its root, the directory's path inside its own filesystem, a suffix of the real path the record keeps, on that
 * filesystem's device. Only mounts not already recognised come here, so the record is read only for those.
 */
async function isBindOfRootedDir(deps: NodeDeps, entry: MountEntry, volumeId: string): Promise<boolean> {
  if (!entry.root.startsWith('/') || entry.root === '/') return false;
  const dir = isStaticVolumeId(volumeId) ? deps.nodeRecords.get(volumeId)?.staticDir : (await deps.controllerState.volumeRecord(volumeId).catch(() => null))?.dataDir;
  // entry.root starts with '/', so a suffix match ends on a whole path component.
  if (!dir || !dir.endsWith(entry.root)) return false;
  return entry.device === (await deps.deviceOf(dir).catch(() => null));
}

export type MountState = 'none' | 'ours' | 'foreign';

async function topMountState(deps: NodeDeps, path: string, volumeId: string): Promise<[MountState, MountEntry | undefined]> {
  const top = topMountAt(await deps.mounter.list(), path);
  if (!top) return ['none', undefined];
  return [(await isVolumeMount(deps, top, volumeId)) ? 'ours' : 'foreign', top];
}

export async function mountStateAt(deps: NodeDeps, path: string, volumeId: string): Promise<MountState> {
  return (await topMountState(deps, path, volumeId))[0];
}

/**
 * A mount of a subtree (a volume's directory) or of a device node (a block volume's loop device) is a bind whose
 * filesystem stays mounted elsewhere; a mount of a filesystem's root (an image volume) may be its last mount.
 */
function unmountKind(entry: MountEntry): 'bind' | 'filesystem' {
  return entry.root === '/' ? 'filesystem' : 'bind';
}

/** Unmounts every layer of this volume stacked at `path`; stops at (and reports) anything that is not ours. */
export async function unmountVolumeAt(deps: NodeDeps, path: string, volumeId: string): Promise<MountState> {
  for (let i = 0; i < 16; i++) {
    const [state, entry] = await topMountState(deps, path, volumeId);
    if (state !== 'ours') return state;
    await deps.mounter.unmount(path, unmountKind(entry!));
  }
  return mountStateAt(deps, path, volumeId);
}
