import path from 'node:path';
import { KIND_HEALTH } from '../kinds/registry';
import { systemStatFs } from '../os/fs-stats';
import { SystemHealthProbe } from '../os/health-probe';
import { allocatedBytes, treeAllocatedBytes } from '../os/host-probe';
import type { VolumeRecord } from '../volumes/model';
import { StateLayout } from '../volumes/layout';
import { BLOCK_IMAGE } from '../volumes/layout';
import type { StateView } from './state-reader';

/** One row of a listing: JSON gets it as is, the table prints each value (null as "-"). */
export type Row = Record<string, string | number | boolean | null | string[]>;

/**
 * Bytes a volume's data takes on disk: an image's allocated blocks, a directory's walked total (that can take a while
 * on a volume with many files; --no-usage skips it). Null when the data is gone.
 */
async function usageOf(layout: StateLayout, v: VolumeRecord): Promise<string | null> {
  const dir = layout.dataDirOf(v);
  const kind = v.kind;
  const bytes = kind === 'block' || kind === 'image' ? await allocatedBytes(path.join(dir, BLOCK_IMAGE)) : await treeAllocatedBytes(dir);
  return bytes === null ? null : bytes.toString();
}

const probe = new SystemHealthProbe();

/** The controller's storage checks of a ready volume (its kind's, src/kinds/<kind>/health.ts): "ok", or the reasons found. */
async function healthOf(layout: StateLayout, v: VolumeRecord): Promise<string> {
  if (v.phase !== 'ready') return '-';
  const checks = KIND_HEALTH.get(v.kind);
  if (!checks) return `CheckFailed: no checks for kind ${v.kind}`;
  const found = await checks.storage({ probe, statFs: systemStatFs, dataPath: checks.dataPath(layout, v) }, v).catch((err: Error) => [{ reason: `CheckFailed: ${err.message}` }]);
  return found.length === 0 ? 'ok' : found.map((f) => f.reason).join(', ');
}

export async function volumeRows(view: StateView, withUsage: boolean): Promise<Row[]> {
  const layout = new StateLayout(view.root);
  const rows: Row[] = [];
  for (const v of [...view.volumes.records.values()].sort((a, b) => a.id.localeCompare(b.id))) {
    const node = view.node.records.get(v.id);
    const attachedTo = [...view.attachments.records.values()].filter((a) => a.volumeId === v.id).map((a) => `${a.nodeId}${a.readonly ? ' (ro)' : ''}`);
    rows.push({
      id: v.id,
      name: v.name,
      kind: v.kind,
      accessType: v.accessType,
      state: v.phase,
      capacityBytes: v.capacityBytes,
      usedBytes: withUsage ? await usageOf(layout, v) : null,
      health: await healthOf(layout, v),
      node: v.nodeId,
      stagedAt: node?.stagingPath ?? null,
      publishedAt: Object.keys(node?.targets ?? {}).sort(),
      loopDevice: node?.loopDevice ?? null,
      attachedTo,
      source: v.contentSource ? `${v.contentSource.type}:${v.contentSource.id}` : null,
      createdAt: v.createdAt,
    });
  }
  for (const n of view.node.records.values()) {
    if (!n.ephemeral) continue;
    const dir = path.join(view.root, 'ephemeral', n.id);
    const used = withUsage ? await treeAllocatedBytes(dir) : null;
    rows.push({ id: n.id, name: '(inline)', kind: 'ephemeral', accessType: 'mount', state: 'ready', capacityBytes: n.ephemeral.capacityBytes, usedBytes: used === null ? null : used.toString(), health: null, node: null, stagedAt: null, publishedAt: Object.keys(n.targets).sort(), loopDevice: n.loopDevice ?? null, attachedTo: [], source: null, createdAt: null });
  }
  return rows;
}

export function snapshotRows(view: StateView): Row[] {
  return [...view.snapshots.records.values()]
    .sort((a, b) => a.id.localeCompare(b.id))
    .map((s) => ({ id: s.id, name: s.name, sourceVolume: s.sourceVolumeId, kind: s.kind, state: s.phase, sizeBytes: s.sizeBytes, group: s.groupId, createdAt: s.createdAt }));
}

export function groupRows(view: StateView): Row[] {
  return [...view.groups.records.values()]
    .sort((a, b) => a.id.localeCompare(b.id))
    .map((g) => ({ id: g.id, name: g.name, state: g.phase, volumes: g.sourceVolumeIds, snapshots: g.snapshotIds, createdAt: g.createdAt }));
}

export function attachmentRows(view: StateView): Row[] {
  return [...view.attachments.records.values()]
    .sort((a, b) => a.id.localeCompare(b.id))
    .map((a) => ({ id: a.id, volume: a.volumeId, node: a.nodeId, readonly: a.readonly, mode: a.mode, createdAt: a.createdAt }));
}

/** Records the driver moved aside, and records it would move aside at its next start (unreadable now). */
export function quarantineRows(view: StateView): Row[] {
  const moved: Row[] = view.quarantine.map((q) => ({ store: q.store, id: q.id, state: q.settled ? 'settled' : 'quarantined', since: q.at, file: q.file, reason: null }));
  const stores = [view.volumes, view.attachments, view.node, view.snapshots, view.groups];
  const unreadable: Row[] = stores.flatMap((s) => s.unreadable).map((u) => ({ store: u.store, id: u.id, state: 'unreadable', since: null, file: u.file, reason: u.reason }));
  const strays: Row[] = view.strays.map((file) => ({ store: null, id: path.basename(file), state: 'set aside', since: null, file, reason: 'not a regular file where a record or journal segment belonged: set aside unopened' }));
  return [...moved, ...unreadable, ...strays];
}
