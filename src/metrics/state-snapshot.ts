import { controllerFindings } from '../volumes/health';
import type { LoopDevices } from '../os/loop';
import type { NodeDeps } from '../node/node-deps';
import type { RecordStore } from '../state/record-store';
import { VOLUME_KINDS, type VolumeKind } from '../volumes/model';
import type { SnapshotDeps } from '../snapshots/catalog';

/** What the metrics read at scrape time: the driver's own in-memory catalogs, never a second copy of them. */
export interface MetricsSources {
  readonly controller: SnapshotDeps | null;
  readonly node: NodeDeps | null;
  /** Node processes: the loop devices of the host, to count those backed by the state directory. */
  readonly loops: LoopDevices | null;
  /** Seconds the start-up load and reconcile took, once it is over. */
  startupSeconds(): number | null;
}

export interface CountByLabels {
  labels: Record<string, string>;
  value: number;
}

/** One scrape's view of the state, computed once and shared by every gauge that reads it. */
export interface StateSnapshot {
  volumes: CountByLabels[];
  snapshots: CountByLabels[];
  groupSnapshots: CountByLabels[];
  attachments: number | null;
  /** Per kind: capacity of volumes not being deleted, bytes promised and not used yet, bytes in use, free for new. */
  bytes: { kind: VolumeKind; provisioned: bigint; promised: bigint; used: bigint | null; free: bigint }[];
  stateFs: { sizeBytes: bigint; availableBytes: bigint; inodes: bigint; freeInodes: bigint } | null;
  staged: number | null;
  publishedTargets: number | null;
  loopDevices: number | null;
  /** Controller: ready volumes with a health finding (src/volumes/health.ts, src/node/health.ts), by kind and reason; one count per finding. */
  abnormal: CountByLabels[];
}

/** Counts records by phase (and kind), plus a `quarantined` state for every record that could not be read. */
function byPhase<T extends { id: string; phase: string }>(store: RecordStore<T>, kindOf: ((r: T) => string) | null): CountByLabels[] {
  const counts = new Map<string, CountByLabels>();
  const add = (labels: Record<string, string>): void => {
    const key = JSON.stringify(labels);
    const entry = counts.get(key) ?? { labels, value: 0 };
    entry.value++;
    counts.set(key, entry);
  };
  for (const r of store.values()) add(kindOf ? { kind: kindOf(r), state: r.phase } : { state: r.phase });
  // A quarantined record is unreadable, so its kind is not known.
  for (let i = 0; i < store.quarantined.size; i++) add(kindOf ? { kind: 'unknown', state: 'quarantined' } : { state: 'quarantined' });
  return [...counts.values()];
}

/**
 * Bytes per kind. `used` is what the kind's storage has allocated (capacity less the unused promise): one statfs or
 * stat per volume, so cheap enough for every scrape. 'dir' volumes would need a walk of every file, which a scrape
 * must not cost: their `used` is null (NodeGetVolumeStats reports it per volume).
 */
async function bytesPerKind(c: SnapshotDeps): Promise<StateSnapshot['bytes']> {
  const live = [...c.catalog.volumes.values()].filter((v) => v.phase !== 'deleting');
  const fs = await c.statFs(c.layout.volumesDir).catch(() => null);
  const perKind: { kind: VolumeKind; provisioned: bigint; promised: bigint; supported: boolean }[] = [];
  for (const kind of VOLUME_KINDS) {
    const backend = c.backends.get(kind);
    if (!backend) continue;
    const ofKind = live.filter((v) => v.kind === kind);
    // As GetCapacity counts it (src/volumes/reservations.ts): a volume whose use cannot be read is wholly promised.
    const promisedEach = await Promise.all(ofKind.map((v) => backend.unusedReservation(v).catch(() => BigInt(v.capacityBytes))));
    const provisioned = ofKind.reduce((sum, v) => sum + BigInt(v.capacityBytes), 0n);
    perKind.push({ kind, provisioned, promised: promisedEach.reduce((a, b) => a + b, 0n), supported: backend.unsupportedReason() === null });
  }
  // GetCapacity's free space, from the same promises rather than a second statfs of every volume.
  const reserved = perKind.reduce((sum, k) => sum + k.promised, 0n);
  const hostFree = fs && fs.availableBytes > reserved ? fs.availableBytes - reserved : 0n;
  return perKind.map((k) => ({ kind: k.kind, provisioned: k.provisioned, promised: k.promised, used: k.kind === 'dir' ? null : k.provisioned - k.promised, free: k.supported ? hostFree : 0n }));
}

async function stateFsOf(sources: MetricsSources): Promise<StateSnapshot['stateFs']> {
  const deps = sources.controller ?? sources.node;
  if (!deps) return null;
  const fs = await deps.statFs(deps.layout.root).catch(() => null);
  return fs && { sizeBytes: fs.totalBytes, availableBytes: fs.availableBytes, inodes: fs.totalInodes, freeInodes: fs.freeInodes };
}

/** Loop devices whose backing file lies in the state directory: the ones this driver attached. */
async function loopDevicesOf(sources: MetricsSources): Promise<number | null> {
  if (!sources.loops || !sources.node) return null;
  const root = `${sources.node.layout.root}/`;
  const list = await sources.loops.list().catch(() => null);
  return list === null ? null : list.filter((l) => l.file.startsWith(root)).length;
}

/**
 * The controller's health checks on every ready volume (one lstat, or a statfs for quota, each: the same cost as the
 * bytes above). A check that fails outright counts under reason CheckFailed rather than failing the scrape.
 */
async function abnormalVolumes(c: SnapshotDeps): Promise<CountByLabels[]> {
  const ready = [...c.catalog.volumes.values()].filter((v) => v.phase === 'ready');
  const found = await Promise.all(ready.map((v) => controllerFindings(c, v).then(
    (fs) => fs.map((f) => ({ kind: v.kind, reason: f.reason })),
    () => [{ kind: v.kind, reason: 'CheckFailed' }],
  )));
  const counts = new Map<string, CountByLabels>();
  for (const labels of found.flat()) {
    const key = `${labels.kind}/${labels.reason}`;
    const entry = counts.get(key) ?? { labels, value: 0 };
    entry.value++;
    counts.set(key, entry);
  }
  return [...counts.values()];
}

export async function takeSnapshot(sources: MetricsSources): Promise<StateSnapshot> {
  const c = sources.controller;
  const n = sources.node;
  const [bytes, stateFs, loopDevices, abnormal] = await Promise.all([
    c ? bytesPerKind(c) : [], stateFsOf(sources), loopDevicesOf(sources), c ? abnormalVolumes(c) : [],
  ]);
  const nodeRecords = n ? [...n.nodeRecords.values()] : null;
  return {
    volumes: c ? byPhase(c.catalog.volumes, (v) => v.kind) : [],
    snapshots: c ? byPhase(c.snapshots.snapshots, (s) => s.kind) : [],
    groupSnapshots: c ? byPhase(c.snapshots.groups, null) : [],
    attachments: c ? c.catalog.attachments.size : null,
    bytes,
    stateFs,
    staged: nodeRecords ? nodeRecords.filter((r) => r.stagingPath !== null).length : null,
    publishedTargets: nodeRecords ? nodeRecords.reduce((sum, r) => sum + Object.keys(r.targets).length, 0) : null,
    loopDevices,
    abnormal,
  };
}
