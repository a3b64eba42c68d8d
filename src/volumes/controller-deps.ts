import type { HealthProbe } from '../os/health-probe';
import { InternalError } from '../errors';
import type { Config } from '../config';
import type { StatFs } from '../os/fs-stats';
import type { Trash } from '../os/trash';
import type { SnapshotCatalog } from '../snapshots/catalog';
import type { KeyedLocks } from '../state/locks';
import type { VolumeBackend } from './backend';
import type { VolumeCatalog } from './catalog';
import type { StateLayout } from './layout';
import type { VolumeKind } from './model';

/** Everything controller-side domain code needs, passed in (never global) so tests can substitute any of it. */
export interface ControllerDeps {
  readonly config: Config;
  readonly layout: StateLayout;
  readonly catalog: VolumeCatalog;
  readonly snapshots: SnapshotCatalog;
  readonly backends: ReadonlyMap<VolumeKind, VolumeBackend>;
  readonly locks: KeyedLocks;
  readonly statFs: StatFs;
  readonly now: () => Date;
  readonly newId: () => string;
  /** Snapshot data is renamed here and removed in the background (never ENOTEMPTY at start-up). */
  readonly trash: Trash;
  /** What the health checks read from the host (src/health/). */
  readonly healthProbe: HealthProbe;
}

export function backendFor(deps: Pick<ControllerDeps, 'backends'>, kind: VolumeKind): VolumeBackend {
  const backend = deps.backends.get(kind);
  if (!backend) throw new InternalError(`no backend for volume kind ${kind}`);
  return backend;
}

export const volumeLockKey = (id: string): string => `volume:${id}`;
export const volumeNameLockKey = (name: string): string => `volume-name:${name}`;
export const snapshotLockKey = (id: string): string => `snapshot:${id}`;
export const snapshotNameLockKey = (name: string): string => `snapshot-name:${name}`;
export const groupLockKey = (id: string): string => `group-snapshot:${id}`;
export const groupNameLockKey = (name: string): string => `group-snapshot-name:${name}`;
