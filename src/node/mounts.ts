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
  const ownRoot = deps.layout.volumeMountRoots(volumeId).some((suffix) => entry.root.endsWith(suffix));
  if (ownRoot) return entry.device === (await deps.deviceOf(deps.layout.volumesDir));
  if (await isBindOfRootedDir(deps, entry, volumeId)) return true;
  const loop = /^\/(loop\d+)$/.exec(entry.root);
  // An image volume's own filesystem (or a bind of it): mounted from a loop device backed by the volume's image.
  const fsOnLoop = entry.root === '/' && /^\/dev\/loop\d+$/.test(entry.source) ? entry.source : null;
  const device = loop ? `/dev/${loop[1]}` : fsOnLoop;
  if (device === null) return false;
  return (await deps.loops.backing(blockImage(deps, volumeId))).includes(device);
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
