import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { LoopInfo } from '../os/loop';
import type { MountEntry } from '../os/mount';
import { mountHolding } from '../os/project-quota';
import { BLOCK_IMAGE } from '../volumes/layout';
import { StateLayout } from '../volumes/layout';
import { knownButUnreadable, type StateView } from './state-reader';

export type OrphanKind =
  | 'data-without-record'
  | 'record-without-data'
  | 'attachment-of-missing-volume'
  | 'node-record-of-missing-volume'
  | 'mount-unaccounted'
  | 'loop-device-unaccounted';

export interface Orphan {
  kind: OrphanKind;
  /** The volume, snapshot or attachment ID, the mount point or the loop device. */
  subject: string;
  path: string;
  detail: string;
}

/** What the host shows, passed in so tests and the CLI read the same things (src/os). */
export interface HostView {
  mounts: MountEntry[];
  loops: LoopInfo[];
  /** "major:minor" of the filesystem holding the state directory. */
  stateDevice: string;
}

async function names(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).sort();
}

async function exists(p: string): Promise<boolean> {
  return (await readdir(path.dirname(p)).catch(() => [] as string[])).includes(path.basename(p));
}

/** Data folders with no record that owns them, and records whose data is gone. */
async function dataOrphans(view: StateView): Promise<Orphan[]> {
  const layout = new StateLayout(view.root);
  const out: Orphan[] = [];
  const unreadableVolumes = knownButUnreadable(view, 'volumes');
  const unreadableSnapshots = knownButUnreadable(view, 'snapshots');
  for (const id of await names(layout.volumesDir)) {
    if (view.volumes.records.has(id) || unreadableVolumes.has(id)) continue;
    out.push({ kind: 'data-without-record', subject: id, path: layout.volumeDataDir(id), detail: 'volume data with no volume record' });
  }
  for (const id of await names(layout.snapshotsDir)) {
    if (view.snapshots.records.has(id) || unreadableSnapshots.has(id)) continue;
    out.push({ kind: 'data-without-record', subject: id, path: layout.snapshotDataDir(id), detail: 'snapshot data with no snapshot record' });
  }
  const ephemeralDir = path.join(view.root, 'ephemeral');
  for (const id of await names(ephemeralDir)) {
    if (view.node.records.get(id)?.ephemeral) continue;
    out.push({ kind: 'data-without-record', subject: id, path: path.join(ephemeralDir, id), detail: 'inline volume data with no node record' });
  }
  for (const vol of view.volumes.records.values()) {
    if (vol.phase !== 'ready') continue;
    const dir = layout.dataDirOf(vol);
    const onImage = vol.kind === 'block' || vol.kind === 'image';
    const data = onImage ? path.join(dir, BLOCK_IMAGE) : dir;
    if (!(await exists(data))) out.push({ kind: 'record-without-data', subject: vol.id, path: data, detail: `ready ${vol.kind} volume ${vol.name} has no ${onImage ? 'image' : 'data directory'}` });
  }
  for (const snap of view.snapshots.records.values()) {
    const dir = layout.snapshotDataDir(snap.id);
    if (snap.phase === 'ready' && !(await exists(dir))) out.push({ kind: 'record-without-data', subject: snap.id, path: dir, detail: `ready snapshot ${snap.name} has no data` });
  }
  for (const rec of view.node.records.values()) {
    const dir = path.join(ephemeralDir, rec.id);
    if (rec.ephemeral && !(await exists(dir))) out.push({ kind: 'record-without-data', subject: rec.id, path: dir, detail: 'inline volume record with no data' });
  }
  return out;
}

/** Attachment and node records naming a volume the controller has no record of (readable or not). */
function danglingRecords(view: StateView): Orphan[] {
  const known = (id: string): boolean => view.volumes.records.has(id) || knownButUnreadable(view, 'volumes').has(id);
  const out: Orphan[] = [];
  for (const att of view.attachments.records.values()) {
    if (!known(att.volumeId)) out.push({ kind: 'attachment-of-missing-volume', subject: att.id, path: path.join(new StateLayout(view.root).attachmentRecordsDir, `${att.id}.json`), detail: `volume ${att.volumeId} attached to node ${att.nodeId}, but the volume has no record` });
  }
  for (const rec of view.node.records.values()) {
    if (rec.ephemeral || known(rec.id)) continue;
    out.push({ kind: 'node-record-of-missing-volume', subject: rec.id, path: path.join(new StateLayout(view.root).nodeRecordsDir, `${rec.id}.json`), detail: `staged at ${rec.stagingPath ?? '(nowhere)'}, ${Object.keys(rec.targets).length} target(s), but the volume has no record` });
  }
  return out;
}

/** Mount points and loop devices the node records account for. */
function accounted(view: StateView): { mountPoints: Set<string>; devices: Set<string> } {
  const mountPoints = new Set<string>();
  const devices = new Set<string>();
  for (const rec of view.node.records.values()) {
    if (rec.stagingPath) mountPoints.add(rec.stagingPath);
    // An inline image volume's own mount of its filesystem, where its targets are bound from (src/kinds/image/inline.ts).
    if (rec.ephemeral?.fsType) mountPoints.add(new StateLayout(view.root).ephemeralMountDir(rec.id));
    if (rec.loopDevice) devices.add(rec.loopDevice);
    for (const [target, t] of Object.entries(rec.targets)) {
      mountPoints.add(target);
      if (t.loopDevice) devices.add(t.loopDevice);
    }
  }
  return { mountPoints, devices };
}

/**
 * Mounts of the driver's data: bind mounts of folders under the state directory, filesystems on loop devices
 * backed by its images, and bind mounts of those loop devices' nodes (raw block targets); any of them at a path no
 * node record names is unaccounted for. So is a loop device over a state-directory file that no node record names.
 */
function hostOrphans(view: StateView, host: HostView): Orphan[] {
  const { mountPoints, devices } = accounted(view);
  const ours = host.loops.filter((l) => l.file.startsWith(`${view.root}/`));
  const ourLoopNames = new Set(ours.map((l) => l.device));
  const holder = mountHolding(host.mounts, view.root, host.stateDevice);
  // The state directory as a path inside its own filesystem (what a bind mount of a volume shows as its root).
  const rootInFs = holder ? path.join(holder.root, path.relative(holder.mountPoint, view.root)) : null;
  const out: Orphan[] = [];
  for (const m of host.mounts) {
    const bindOfState = rootInFs !== null && m.device === host.stateDevice && m.root.startsWith(`${rootInFs}/`) && m.mountPoint !== view.root;
    const onOurLoop = ourLoopNames.has(m.source);
    const loopNode = m.fsType === 'devtmpfs' && /^\/loop\d+$/.test(m.root) && ourLoopNames.has(`/dev${m.root}`);
    if (!(bindOfState || onOurLoop || loopNode) || mountPoints.has(m.mountPoint)) continue;
    const what = bindOfState ? `bind mount of ${path.join(view.root, path.relative(rootInFs!, m.root))}` : onOurLoop ? `${m.fsType} on ${m.source}` : `device node ${m.root.slice(1)}`;
    out.push({ kind: 'mount-unaccounted', subject: m.mountPoint, path: m.mountPoint, detail: `${what}, at a path no node record names` });
  }
  for (const l of ours) {
    if (devices.has(l.device)) continue;
    out.push({ kind: 'loop-device-unaccounted', subject: l.device, path: l.file, detail: `loop device${l.readOnly ? ' (read-only)' : ''} over ${l.file}, named by no node record` });
  }
  return out;
}

/** Every kind of orphan, data first, then dangling records, then what the host holds. */
export async function findOrphans(view: StateView, host: HostView | null): Promise<Orphan[]> {
  return [...(await dataOrphans(view)), ...danglingRecords(view), ...(host ? hostOrphans(view, host) : [])];
}
