import { chmod, mkdir } from 'node:fs/promises';
import { compose, loadState, systemHost, type Driver } from './compose';
import type { Config } from './config';
import { Gate } from './grpc/unary';
import type { Logger } from './log';
import { commandRunner } from './os/exec';
import { childMarkValue, CHILD_MARK, killLeftoverChildren, type Role } from './os/leftover-children';
import { lockRole, type RoleLock } from './os/state-lock';
import { mountHolding, quotaSupportOf } from './os/project-quota';
import { CsiServer } from './server/server';
import { createMetrics } from './metrics';
import { StateLayout } from './volumes/layout';

export type Lifecycle = 'starting' | 'reconciling' | 'serving' | 'draining' | 'stopped';

/** The running driver: dependencies built once, a server, and an explicit lifecycle. */
export class App {
  state: Lifecycle = 'starting';
  private readonly gate = new Gate();
  private readonly server: CsiServer;
  private readonly driver: Driver;
  private roleLocks: RoleLock[] = [];
  private readonly metrics: ReturnType<typeof createMetrics>;
  /** Seconds from the socket bound to ready (the start-up load and reconcile), once start-up is over. */
  private startupSeconds: number | null = null;

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
  ) {
    // Every child carries the driver's mark, so the next start-up can find any that escaped the parent-death signal.
    const runCommand = commandRunner({ [CHILD_MARK]: childMarkValue({ stateDir: config.stateDir, roles: this.roles(), pid: process.pid }) });
    this.driver = compose(config, systemHost(runCommand), { log });
    const { controller, node } = this.driver;
    this.metrics = createMetrics(config, { controller, node, loops: node ? this.driver.host.loops : null, startupSeconds: () => this.startupSeconds }, log);
    this.server = new CsiServer(config, { log, gate: this.gate, observer: this.metrics?.metrics }, { controller, node, snapshotMetadata: this.driver.snapshotMetadata });
  }

  /** Binds the socket first (Probe answers not-ready meanwhile), then loads and reconciles state, then serves. */
  async start(): Promise<void> {
    await mkdir(this.config.stateDir, { recursive: true, mode: 0o700 });
    // mkdir leaves an existing directory's mode alone, and kubelet creates hostPath directories 0755.
    await chmod(this.config.stateDir, 0o700);
    this.lockRoles();
    // Before anything touches the state: a leftover cp, mkfs or e2fsck of the dead driver must not race reconciliation.
    await killLeftoverChildren(this.config.stateDir, this.roles(), this.log);
    await this.metrics?.server.listen();
    await this.server.listen();
    const reconcileStarted = process.hrtime.bigint();
    this.log.info({ endpoint: this.config.endpoint, mode: this.config.mode, nodeId: this.config.nodeId, version: this.config.version }, 'listening');
    this.state = 'reconciling';
    await this.detectQuotaSupport();
    await loadState(this.driver, this.log);
    // What a crash left set aside, and what reconciliation just set aside, goes while the driver serves.
    this.driver.controller?.trash.sweepInBackground();
    // A full disk must not stop start-up: deletes then work without the reserve until space returns.
    await this.driver.reserve.ensure().catch((err: unknown) => this.log.warn({ err, file: this.driver.reserve.file }, 'no room for the space reserve: the state filesystem is full'));
    this.gate.ready = true;
    this.startupSeconds = Number(process.hrtime.bigint() - reconcileStarted) / 1e9;
    this.state = 'serving';
    this.log.info('ready');
    // Only informative, and a child process: kept off the path to the first ready Probe.
    if (this.driver.controller) void this.logCopyOnWrite();
  }

  /**
   * One process per role on a state directory: two controllers (or two node processes) would both write its records.
   * A controller and a node process may share it (--mode controller / --mode node); --mode all takes both locks.
   * Taken before the socket is bound, so a refused second process touches nothing, not even the first one's socket.
   */
  private lockRoles(): void {
    for (const role of this.roles()) this.roleLocks.push(lockRole(this.config.stateDir, role));
  }

  /** The roles this process serves, so the state-directory locks it takes (--mode all: both). */
  private roles(): Role[] {
    return [...(this.config.mode !== 'node' ? ['controller' as const] : []), ...(this.config.mode !== 'controller' ? ['node' as const] : [])];
  }

  private async logCopyOnWrite(): Promise<void> {
    const cow = await this.driver.host.copier.probeReflink(this.config.stateDir);
    this.log.info({ copyOnWrite: cow }, cow ? 'snapshots and clones are copy-on-write (reflink)' : 'filesystem has no reflink: snapshots and clones are full copies');
  }

  /** sizeLimit quota needs project quotas enforced on the state directory's filesystem; found out once, here. */
  private async detectQuotaSupport(): Promise<void> {
    const volumesDir = new StateLayout(this.config.stateDir).volumesDir;
    await mkdir(volumesDir, { recursive: true, mode: 0o700 });
    const mount = mountHolding(await this.driver.host.mounter.list(), volumesDir, await this.driver.host.deviceOf(volumesDir));
    const support = quotaSupportOf(mount);
    this.driver.quota.setSupport(support);
    if (support.supported) this.log.info({ mountPoint: support.mountPoint, fsType: support.fsType }, 'project quotas enforced: sizeLimit quota is available');
    else this.log.info({ reason: support.reason }, 'sizeLimit quota is not available on this node');
  }

  async stop(graceMs = 30_000): Promise<void> {
    if (this.state === 'draining' || this.state === 'stopped') return;
    this.state = 'draining';
    this.gate.draining = true;
    this.log.info('shutting down: finishing in-flight calls');
    await this.server.close(graceMs);
    await this.checkpointState();
    this.driver.controller?.trash.stop();
    await this.metrics?.server.close();
    for (const lock of this.roleLocks.splice(0)) lock.release();
    this.state = 'stopped';
    this.log.info('stopped');
  }

  /**
   * After a clean stop the record files alone are the durable state (the journals are empty): start-up replays
   * nothing, and a record damaged later is quarantined rather than silently rewritten.
   */
  private async checkpointState(): Promise<void> {
    const { controller: c, node } = this.driver;
    const stores = [...(c ? [c.catalog.volumes, c.catalog.attachments, c.snapshots.snapshots, c.snapshots.groups] : []), ...(node ? [node.nodeRecords] : [])];
    await Promise.all(stores.map((s) => s.checkpoint())).catch((err: unknown) => this.log.error({ err }, 'journal checkpoint at shutdown failed: start-up will replay the journal'));
  }
}
