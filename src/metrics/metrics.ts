import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import path from 'node:path';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { CallObserver } from '../grpc/unary';
import { journalCommits, type JournalCommit } from '../state/journal';
import { takeSnapshot, type CountByLabels, type MetricsSources, type StateSnapshot } from './state-snapshot';

const PREFIX = 'hostpath_csi_';
/** From a Probe (sub-millisecond) to a full copy of a large volume (minutes). */
const RPC_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const FSYNC_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

/**
 * Every metric the driver exports, in one registry of its own (not prom-client's global one, so two drivers in one
 * test process never share counters). RPC metrics are fed by the unary adapter through CallObserver, journal metrics
 * by the journal's diagnostics channel, and the state gauges are computed at scrape time from the catalogs.
 */
export class DriverMetrics implements CallObserver {
  readonly registry = new Registry();
  private readonly rpcSeconds: Histogram<'method' | 'code'>;
  private readonly inFlight: Gauge<'method'>;
  private readonly journalBatch: Histogram<'store'>;
  private readonly journalFsync: Histogram<'store'>;
  /** The snapshot of the scrape under way: every state gauge reads this one. */
  private current: Promise<StateSnapshot> | null = null;
  private readonly onCommit = (message: unknown): void => this.recordCommit(message as JournalCommit);

  constructor(
    private readonly sources: MetricsSources,
    version: string,
  ) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.rpcSeconds = new Histogram({ name: `${PREFIX}rpc_duration_seconds`, help: 'CSI calls by method and gRPC code: time from arrival to answer (the _count is the number of calls)', labelNames: ['method', 'code'], buckets: RPC_BUCKETS, registers });
    this.inFlight = new Gauge({ name: `${PREFIX}rpcs_in_flight`, help: 'CSI calls being served now, by method', labelNames: ['method'], registers });
    this.journalBatch = new Histogram({ name: `${PREFIX}journal_batch_entries`, help: 'Record changes made durable by one group commit (one fdatasync), by record store', labelNames: ['store'], buckets: BATCH_BUCKETS, registers });
    this.journalFsync = new Histogram({ name: `${PREFIX}journal_fdatasync_seconds`, help: 'Time of one journal fdatasync, by record store', labelNames: ['store'], buckets: FSYNC_BUCKETS, registers });
    new Gauge({ name: `${PREFIX}build_info`, help: 'Always 1; the driver version in a label', labelNames: ['version'], registers }).set({ version }, 1);
    this.stateGauges();
    subscribe(journalCommits.name, this.onCommit);
  }

  callStarted(method: string): (code: string) => void {
    const end = this.rpcSeconds.startTimer({ method });
    this.inFlight.inc({ method });
    let done = false;
    return (code) => {
      if (done) return;
      done = true;
      this.inFlight.dec({ method });
      end({ code });
    };
  }

  /** The exposition text; the state is read once for the whole scrape. */
  async render(): Promise<string> {
    this.current = takeSnapshot(this.sources);
    try {
      return await this.registry.metrics();
    } finally {
      this.current = null;
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  close(): void {
    unsubscribe(journalCommits.name, this.onCommit);
  }

  private recordCommit(commit: JournalCommit): void {
    const store = path.basename(commit.dir).replace(/\.journal$/, '');
    this.journalBatch.observe({ store }, commit.entries);
    this.journalFsync.observe({ store }, commit.fdatasyncSeconds);
  }

  private snapshot(): Promise<StateSnapshot> {
    // A registry.metrics() outside render() (a test) still gets a fresh view.
    return this.current ?? takeSnapshot(this.sources);
  }

  /** A gauge whose values are set from the scrape's snapshot each time it is collected (stale label sets dropped). */
  private stateGauge<L extends string>(name: string, help: string, labelNames: readonly L[], fill: (s: StateSnapshot, set: (labels: Partial<Record<L, string>>, value: number | bigint) => void) => void): void {
    const snapshot = (): Promise<StateSnapshot> => this.snapshot();
    new Gauge<L>({
      name: PREFIX + name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        this.reset();
        fill(await snapshot(), (labels, value) => this.set(labels, Number(value)));
      },
    });
  }

  /** Controller gauges only where the controller runs, node gauges only where the node runs: no gauge that means nothing. */
  private stateGauges(): void {
    const counts = (list: CountByLabels[], set: (labels: Record<string, string>, v: number) => void): void => list.forEach((c) => set(c.labels, c.value));
    if (this.sources.controller) {
      this.stateGauge('volumes', 'Volumes by kind and state (ready, creating, deleting; quarantined: record unreadable, kind unknown)', ['kind', 'state'], (s, set) => counts(s.volumes, set));
      this.stateGauge('snapshots', 'Snapshots by kind and state (ready, creating, deleting, quarantined)', ['kind', 'state'], (s, set) => counts(s.snapshots, set));
      this.stateGauge('group_snapshots', 'Volume group snapshots by state', ['state'], (s, set) => counts(s.groupSnapshots, set));
      this.stateGauge('attachments', 'ControllerPublishVolume attachments recorded', [], (s, set) => set({}, s.attachments ?? 0));
      this.stateGauge('provisioned_bytes', 'Capacity of the volumes not being deleted, by kind', ['kind'], (s, set) => s.bytes.forEach((b) => set({ kind: b.kind }, b.provisioned)));
      this.stateGauge('promised_bytes', 'Bytes promised to volumes and not used yet (kept free for them; GetCapacity leaves them out), by kind', ['kind'], (s, set) => s.bytes.forEach((b) => set({ kind: b.kind }, b.promised)));
      this.stateGauge('used_bytes', 'Bytes the volumes of a kind have allocated (not for dir: that needs a walk of every file)', ['kind'], (s, set) => s.bytes.forEach((b) => b.used !== null && set({ kind: b.kind }, b.used)));
      this.stateGauge('abnormal_volumes', 'Ready volumes the health checks find abnormal, by kind and reason (docs/observability.md lists the reasons)', ['kind', 'reason'], (s, set) => counts(s.abnormal, set));
      this.stateGauge('free_bytes', 'Bytes a new volume of this kind can get now (GetCapacity; 0 where the node cannot make the kind)', ['kind'], (s, set) => s.bytes.forEach((b) => set({ kind: b.kind }, b.free)));
    }
    this.stateGauge('state_filesystem_bytes', "The state directory's filesystem: size and available bytes", ['measure'], (s, set) => {
      if (s.stateFs) (set({ measure: 'size' }, s.stateFs.sizeBytes), set({ measure: 'available' }, s.stateFs.availableBytes));
    });
    this.stateGauge('state_filesystem_inodes', "The state directory's filesystem: inodes in all and free", ['measure'], (s, set) => {
      if (s.stateFs) (set({ measure: 'size' }, s.stateFs.inodes), set({ measure: 'free' }, s.stateFs.freeInodes));
    });
    if (this.sources.node) {
      this.stateGauge('node_staged_volumes', 'Volumes staged on this node', [], (s, set) => set({}, s.staged ?? 0));
      this.stateGauge('node_published_targets', 'Target paths volumes are published at on this node', [], (s, set) => set({}, s.publishedTargets ?? 0));
      this.stateGauge('loop_devices_attached', 'Loop devices whose backing file is in the state directory (block and image volumes)', [], (s, set) => s.loopDevices !== null && set({}, s.loopDevices));
    }
    const startup = (): number | null => this.sources.startupSeconds();
    new Gauge({
      name: `${PREFIX}startup_reconcile_seconds`,
      help: 'Time from binding the socket to ready: loading the records, replaying journals and reconciling them with the disk',
      registers: [this.registry],
      collect() {
        const seconds = startup();
        if (seconds !== null) this.set(seconds);
      },
    });
  }
}
