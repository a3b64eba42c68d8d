/**
 * The one composition root: builds the whole driver (controller and node dependencies, every volume kind) from a
 * Config and a Host. src/app.ts composes it over the real host (systemHost); the unit tests compose it over fakes of
 * the same interfaces (test/helpers/fakes.ts), so both run the same wiring and the same start-up (loadState).
 */
import { randomUUID } from 'node:crypto';
import type { Config } from './config';
import { controllerStateOnDisk } from './contract';
import type { Logger } from './log';
import { buildKinds } from './kinds/registry';
import type { QuotaBackend } from './kinds/quota/controller';
import { reattachStagedLoops } from './node/block';
import { restoreInlineImages } from './node/ephemeral';
import type { NodeDeps } from './node/node-deps';
import type { NodeKindHalf } from './node/node-kind';
import type { Host } from './os/host';
import { LoopsListedOnce, MountsListedOnce } from './os/listed-once';
import { Trash } from './os/trash';
import { SnapshotCatalog, type SnapshotDeps } from './snapshots/catalog';
import { reconcileSnapshots } from './snapshots/reconcile';
import { snapshotMetadataDeps } from './snapshots/metadata/deps';
import type { MetadataDeps } from './snapshots/metadata/metadata';
import { DirSyncer } from './state/dir-sync';
import { KeyedLocks } from './state/locks';
import { RecordStore } from './state/record-store';
import { SpaceReserve } from './state/space-reserve';
import type { VolumeBackend } from './volumes/backend';
import type { KindHealthChecks } from './volumes/health-checks';
import { VolumeCatalog } from './volumes/catalog';
import { StateLayout } from './volumes/layout';
import { expandVolume } from './volumes/lifecycle';
import { parseNodeVolumeRecord, type VolumeKind } from './volumes/model';
import { reconcileController } from './volumes/reconcile';

export { systemHost, type Host } from './os/host';

export interface ComposeOptions {
  readonly log: Logger;
  readonly now?: () => Date;
  readonly newId?: () => string;
  /** False leaves the record stores without the space reserve (unit tests that do not exercise a full disk). */
  readonly spaceReserve?: boolean;
}

/** The driver's parts; `controller` / `node` are null when --mode leaves that role to another process. */
export interface Driver {
  readonly config: Config;
  readonly host: Host;
  readonly layout: StateLayout;
  readonly reserve: SpaceReserve;
  readonly quota: QuotaBackend;
  readonly backends: ReadonlyMap<VolumeKind, VolumeBackend>;
  readonly controller: SnapshotDeps | null;
  readonly node: NodeDeps | null;
  /** Null unless --snapshot-metadata serves the SnapshotMetadata service (controller only). */
  readonly snapshotMetadata: MetadataDeps | null;
}

export function compose(config: Config, host: Host, options: ComposeOptions): Driver {
  const { log } = options;
  const layout = new StateLayout(config.stateDir);
  const syncer = new DirSyncer();
  const reserve = new SpaceReserve(layout.spaceReserveFile(config.mode), log);
  const storeReserve = options.spaceReserve === false ? null : reserve;
  const locks = new KeyedLocks();
  const { slices, quota } = buildKinds(layout, host, config.volumeRoots);
  const backends = new Map<VolumeKind, VolumeBackend>([...slices].map(([kind, slice]) => [kind, slice.controller]));
  const nodeKinds = new Map<VolumeKind, NodeKindHalf>([...slices].map(([kind, slice]) => [kind, slice.node]));
  const healthChecks = new Map<VolumeKind, KindHealthChecks>([...slices].map(([kind, slice]) => [kind, slice.health]));
  const controller: SnapshotDeps | null =
    config.mode !== 'node'
      ? {
          config,
          layout,
          catalog: new VolumeCatalog(layout, syncer, storeReserve),
          snapshots: new SnapshotCatalog(layout, syncer, storeReserve),
          backends,
          healthChecks,
          locks,
          statFs: host.statFs,
          fs: host.fs,
          now: options.now ?? (() => new Date()),
          newId: options.newId ?? randomUUID,
          trash: new Trash(layout.trashDir, log),
          healthProbe: host.healthProbe,
        }
      : null;
  const node: NodeDeps | null =
    config.mode !== 'controller'
      ? {
          config,
          layout,
          backends,
          nodeKinds,
          healthChecks,
          filesystems: host.filesystems,
          controllerState: controllerStateOnDisk(layout, backends),
          growVolume: controller && !config.controllerExpansion ? (id, range, rpcLog) => expandVolume(controller, id, range, rpcLog) : null,
          locks,
          mounter: host.mounter,
          loops: host.loops,
          statFs: host.statFs,
          fs: host.fs,
          deviceOf: host.deviceOf,
          healthProbe: host.healthProbe,
          nodeRecords: new RecordStore(layout.nodeRecordsDir, layout.quarantineDir, parseNodeVolumeRecord, syncer, undefined, storeReserve),
        }
      : null;
  const snapshotMetadata = snapshotMetadataDeps(config, controller, host);
  return { config, host, layout, reserve, quota, backends, controller, node, snapshotMetadata };
}

/**
 * Start-up's state work, in order: controller records loaded (quota project IDs adopted before any create can take
 * one), reconciled, then the node's records loaded, its loop devices put back, then what each kind restores (an
 * image volume's staging mount).
 */
export async function loadState(driver: Driver, log: Logger): Promise<void> {
  const { controller, node } = driver;
  if (controller) {
    await controller.catalog.load(log);
    driver.quota.projectIds.adopt([...controller.catalog.volumes.values()].map((v) => v.projectId));
    await controller.snapshots.load(log);
    await reconcileController(controller, log);
    await reconcileSnapshots(controller, log);
  }
  if (node) {
    await node.nodeRecords.load(log);
    // The host's loop devices and mounts listed once for all staged volumes, not once each (src/os/listed-once.ts).
    const restage = { ...node, loops: new LoopsListedOnce(node.loops), mounter: new MountsListedOnce(node.mounter) };
    const reattached = await reattachStagedLoops(restage, log);
    let remounted = 0;
    for (const half of node.nodeKinds.values()) remounted += (await half.restoreStaged?.(restage, log)) ?? 0;
    const inline = await restoreInlineImages(restage, log);
    log.info({ staged: node.nodeRecords.size, loopDevicesReattached: reattached, imagesRemounted: remounted, inlineImages: inline }, 'node state loaded');
  }
}
