import type { HealthProbe } from '../os/health-probe';
import type { StatFs } from '../os/fs-stats';
import type { LoopDevices } from '../os/loop';
import { InternalError } from '../errors';
import type { StateLayout } from './layout';
import type { VolumeKind, VolumeRecord } from './model';
import type { HealthFinding } from '../domain/health';

/** What the controller-side checks read: the volume's storage as its backend keeps it. */
export interface StorageCheckContext {
  readonly probe: HealthProbe;
  readonly statFs: StatFs;
  /** The backend's path of the volume's data: its directory, or its image file. */
  readonly dataPath: string;
}

/** What the node-side checks read about a staged volume. */
export interface StagedCheckContext {
  readonly probe: HealthProbe;
  readonly loops: LoopDevices;
  /** The volume's image file (block, image kinds). */
  readonly image: string;
  /** Whether the recorded staging path still shows this volume's mount. */
  readonly stagingMounted: () => Promise<boolean>;
  readonly stagingPath: string;
}

/**
 * A volume kind's health checks (CSI v1.13 volume health), implemented in its slice (src/kinds/<kind>/health.ts)
 * and looked up by kind through the registry (src/kinds/registry.ts): nothing else branches on the kind for health.
 */
export interface KindHealthChecks {
  /** Where the kind keeps a volume's data (what its backend's stageSource names): checked by `storage`. */
  dataPath(layout: StateLayout, volume: VolumeRecord): string;
  /** The controller's view: is the data where the backend keeps it, whole and within its limit. */
  storage(ctx: StorageCheckContext, vol: VolumeRecord): Promise<HealthFinding[]>;
  /** The node's view of a staged volume: the staging mount or loop device its targets depend on. */
  staged(ctx: StagedCheckContext, vol: VolumeRecord): Promise<HealthFinding[]>;
}

/** The checks of a kind, from the registry's map (compose() hands it to both sides). */
export function healthChecksFor(deps: { readonly healthChecks: ReadonlyMap<VolumeKind, KindHealthChecks> }, kind: VolumeKind): KindHealthChecks {
  const checks = deps.healthChecks.get(kind);
  if (!checks) throw new InternalError(`no health checks for volume kind ${kind}`);
  return checks;
}
