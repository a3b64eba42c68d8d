import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import type { Config } from './config';
import { Gate } from './grpc/unary';
import type { Logger } from './log';
import { reattachStagedLoops } from './node/block';
import type { NodeDeps } from './node/node-deps';
import { systemDeviceOf } from './os/device';
import { runCommand } from './os/exec';
import { systemStatFs } from './os/fs-stats';
import { CpTreeCopier } from './os/copy';
import { SystemLoopDevices } from './os/loop';
import { SystemMounter } from './os/mount';
import { CsiServer } from './server/server';
import { SnapshotCatalog } from './snapshots/catalog';
import { DirSyncer } from './state/dir-sync';
import { KeyedLocks } from './state/locks';
import { RecordStore } from './state/record-store';
import type { VolumeBackend } from './volumes/backend';
import { VolumeCatalog } from './volumes/catalog';
import type { ControllerDeps } from './volumes/controller-deps';
import { BlockBackend } from './volumes/block-backend';
import { DirBackend } from './volumes/dir-backend';
import { StateLayout } from './volumes/layout';
import { parseNodeVolumeRecord, type VolumeKind } from './volumes/model';
import { reconcileController } from './volumes/reconcile';
import { reconcileSnapshots } from './snapshots/reconcile';

export type Lifecycle = 'starting' | 'reconciling' | 'serving' | 'draining' | 'stopped';

/** The running driver: dependencies built once, a server, and an explicit lifecycle. */
export class App {
  state: Lifecycle = 'starting';
  private readonly gate = new Gate();
  private readonly server: CsiServer;
  private readonly controller: ControllerDeps | null;
  private readonly node: NodeDeps | null;
  private readonly copier: CpTreeCopier;

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
  ) {
    const layout = new StateLayout(config.stateDir);
    const syncer = new DirSyncer();
    const locks = new KeyedLocks();
    const copier = new CpTreeCopier(runCommand);
    const loops = new SystemLoopDevices(runCommand);
    const backends = new Map<VolumeKind, VolumeBackend>([
      ['dir', new DirBackend(layout, systemStatFs, copier)],
      ['block', new BlockBackend(layout, loops, copier)],
    ]);
    const servesController = config.mode !== 'node';
    const servesNode = config.mode !== 'controller';
    this.copier = copier;
    this.controller = servesController
      ? { config, layout, catalog: new VolumeCatalog(layout, syncer), snapshots: new SnapshotCatalog(layout, syncer), backends, locks, statFs: systemStatFs, now: () => new Date(), newId: randomUUID }
      : null;
    this.node = servesNode
      ? {
          config,
          layout,
          backends,
          locks,
          mounter: new SystemMounter(runCommand),
          loops,
          statFs: systemStatFs,
          deviceOf: systemDeviceOf,
          nodeRecords: new RecordStore(layout.nodeRecordsDir, layout.quarantineDir, parseNodeVolumeRecord, syncer),
        }
      : null;
    this.server = new CsiServer(config, { log, gate: this.gate }, { controller: this.controller, node: this.node });
  }

  /** Binds the socket first (Probe answers not-ready meanwhile), then loads and reconciles state, then serves. */
  async start(): Promise<void> {
    await mkdir(this.config.stateDir, { recursive: true, mode: 0o700 });
    await this.server.listen();
    this.log.info({ endpoint: this.config.endpoint, mode: this.config.mode, nodeId: this.config.nodeId, version: this.config.version }, 'listening');
    this.state = 'reconciling';
    if (this.controller) {
      await this.controller.catalog.load(this.log);
      await this.controller.snapshots.load(this.log);
      await reconcileController(this.controller, this.log);
      await reconcileSnapshots(this.controller, this.log);
      const cow = await this.copier.probeReflink(this.config.stateDir);
      this.log.info({ copyOnWrite: cow }, cow ? 'snapshots and clones are copy-on-write (reflink)' : 'filesystem has no reflink: snapshots and clones are full copies');
    }
    if (this.node) {
      await this.node.nodeRecords.load(this.log);
      const reattached = await reattachStagedLoops(this.node, this.log);
      this.log.info({ staged: this.node.nodeRecords.size, loopDevicesReattached: reattached }, 'node state loaded');
    }
    this.gate.ready = true;
    this.state = 'serving';
    this.log.info('ready');
  }

  async stop(graceMs = 30_000): Promise<void> {
    if (this.state === 'draining' || this.state === 'stopped') return;
    this.state = 'draining';
    this.gate.draining = true;
    this.log.info('shutting down: finishing in-flight calls');
    await this.server.close(graceMs);
    this.state = 'stopped';
    this.log.info('stopped');
  }
}
