import type { HealthProbe } from '../os/health-probe';
import type { Config } from '../config';
import type { StatFs } from '../os/fs-stats';
import type { HostFs } from '../os/host-fs';
import type { Trash } from '../os/trash';
import type { KeyedLocks } from '../state/locks';
import type { VolumeBackend } from './backend';
import type { VolumeCatalog } from './catalog';
import type { KindHealthChecks } from './health-checks';
import type { StateLayout } from './layout';
import type { AccessType } from '../domain/capability';
import type { ImageFsType, VolumeKind } from './model';

/**
 * What volume code reads of the snapshot catalog: a restore's source. Declared here, not imported, so volumes/ does
 * not depend on snapshots/ (snapshots/ builds on volumes/); src/snapshots/catalog.ts provides it.
 */
export interface SnapshotSourceLookup {
  refuseIfQuarantined(id: string): void;
  get(id: string): RestorableSnapshot | undefined;
}

export interface RestorableSnapshot {
  readonly id: string;
  readonly phase: 'creating' | 'ready' | 'deleting';
  readonly sizeBytes: string;
  readonly kind: VolumeKind;
  readonly accessType: AccessType;
  readonly fsType?: ImageFsType | null;
}

/**
 * Everything controller-side domain code needs, passed in (never global) so tests can substitute any of it.
 * Snapshot code uses it with the whole catalog (SnapshotDeps in src/snapshots/catalog.ts).
 */
export interface ControllerDeps<S extends SnapshotSourceLookup = SnapshotSourceLookup> {
  readonly config: Config;
  readonly layout: StateLayout;
  readonly catalog: VolumeCatalog;
  readonly snapshots: S;
  readonly backends: ReadonlyMap<VolumeKind, VolumeBackend>;
  /** Each kind's health checks, from the registry (src/kinds/<kind>/health.ts). */
  readonly healthChecks: ReadonlyMap<VolumeKind, KindHealthChecks>;
  readonly locks: KeyedLocks;
  readonly statFs: StatFs;
  /** The host filesystem (src/os/host-fs.ts). */
  readonly fs: HostFs;
  readonly now: () => Date;
  readonly newId: () => string;
  /** Snapshot data is renamed here and removed in the background (never ENOTEMPTY at start-up). */
  readonly trash: Trash;
  /** What the health checks read from the host (src/volumes/health.ts, src/node/health.ts). */
  readonly healthProbe: HealthProbe;
}

export { backendFor } from './backend';

export const volumeLockKey = (id: string): string => `volume:${id}`;
export const volumeNameLockKey = (name: string): string => `volume-name:${name}`;
export const snapshotLockKey = (id: string): string => `snapshot:${id}`;
export const snapshotNameLockKey = (name: string): string => `snapshot-name:${name}`;
export const groupLockKey = (id: string): string => `group-snapshot:${id}`;
export const groupNameLockKey = (name: string): string => `group-snapshot-name:${name}`;
