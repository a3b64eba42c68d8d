import path from 'node:path';
import type { Config } from '../config';
import type { DirPlacement } from '../domain/dir-layout';
import { FailedPreconditionError } from '../errors';
import type { HostFs } from '../os/host-fs';
import type { KeyedLocks, Release } from '../state/locks';
import { isStrictlyUnder } from '../validate/fields';
import type { VolumeCatalog } from './catalog';
import type { VolumeRecord } from './model';
import { realVolumeRoot } from './roots';

interface PlacementDeps {
  readonly config: Pick<Config, 'volumeRoots'>;
  readonly fs: HostFs;
  readonly catalog: Pick<VolumeCatalog, 'volumes'>;
  readonly locks: KeyedLocks;
}

const dataDirLockKey = (dir: string): string => `volume-dir:${dir}`;

/** The root's real path: a configured root that is missing or not a directory is this node's fault, not the class's. */
async function realRoot(deps: PlacementDeps, key: string): Promise<string> {
  const configured = deps.config.volumeRoots.get(key)!;
  const real = await realVolumeRoot(deps.fs, configured);
  if (real === null) throw new FailedPreconditionError(`volume root ${key} (${configured}) is not a directory on this node`);
  return real;
}

/**
 * The directory a new volume gets under its root, with a lock on it held until the caller releases it (two creates
 * whose names sanitise alike cannot both take it; the loser answers ABORTED and its retry gets the suffix). The
 * name is suffixed with the volume ID when anything is already there or another volume's record claims it, so a
 * volume never adopts (and later deletes) a directory it did not make.
 */
export async function claimDataDir(deps: PlacementDeps, placement: DirPlacement, volumeId: string): Promise<{ dataDir: string; release: Release }> {
  const root = await realRoot(deps, placement.rootKey);
  const taken = async (dir: string): Promise<boolean> =>
    [...deps.catalog.volumes.values()].some((v) => v.dataDir === dir) || (await deps.fs.lstat(dir).then(() => true, () => false));
  let dataDir = path.join(root, placement.name);
  if (await taken(dataDir)) dataDir = path.join(root, `${placement.name}-${volumeId}`);
  if (await taken(dataDir)) throw new FailedPreconditionError(`volume directory ${dataDir} already exists`);
  const release = deps.locks.tryAcquire([dataDirLockKey(dataDir)], `volume directory ${dataDir}`);
  return { dataDir, release };
}

/**
 * Before the driver removes a volume's directory outside the state directory: it must still resolve strictly under
 * one of this node's --volume-roots (a root dropped from the configuration, or a directory swapped for a symlink,
 * leaves the data alone and says so).
 */
export async function confineDataDir(deps: Pick<PlacementDeps, 'config' | 'fs'>, volume: VolumeRecord): Promise<void> {
  if (!volume.dataDir) return;
  const resolved = await deps.fs.realpath(volume.dataDir).catch(() => null);
  if (resolved === null) return;
  for (const configured of deps.config.volumeRoots.values()) {
    const root = await realVolumeRoot(deps.fs, configured);
    if (root !== null && resolved === volume.dataDir && isStrictlyUnder(resolved, root)) return;
  }
  throw new FailedPreconditionError(`volume directory ${volume.dataDir} no longer resolves under any of this node's --volume-roots: left in place`);
}
