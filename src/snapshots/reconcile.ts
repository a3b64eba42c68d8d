import type { Logger } from '../log';
import { backendFor } from '../volumes/controller-deps';
import { finishSnapshotDelete } from './lifecycle';
import type { SnapshotRecord } from './model';
import type { SnapshotDeps } from './catalog';

export interface SnapshotReconcileReport {
  rolledBack: number;
  deletesFinished: number;
  groupsRolledBack: number;
  orphanDirs: number;
}

/**
 * After a crash: a snapshot or group still `creating` never answered its caller, so its partial copy is removed (and
 * whatever the copy held on its source, such as a frozen filesystem, is let go); a
 * `deleting` one is finished; a snapshot directory no record knows is logged and left alone.
 */
export async function reconcileSnapshots(deps: SnapshotDeps, log: Logger): Promise<SnapshotReconcileReport> {
  await deps.fs.mkdirs(deps.layout.snapshotsDir, 0o700);
  const report: SnapshotReconcileReport = { rolledBack: 0, deletesFinished: 0, groupsRolledBack: 0, orphanDirs: 0 };
  for (const group of [...deps.snapshots.groups.values()]) {
    if (group.phase === 'ready') continue;
    for (const snap of deps.snapshots.snapshots.values()) {
      if (snap.groupId !== group.id || snap.phase === 'deleting') continue;
      await letGoOfSource(deps, snap);
      await deps.snapshots.put({ ...snap, phase: 'deleting' });
    }
    await deps.snapshots.deleteGroup(group);
    report.groupsRolledBack++;
  }
  for (const snap of [...deps.snapshots.snapshots.values()]) {
    if (snap.phase === 'ready') continue;
    if (snap.phase === 'creating') await letGoOfSource(deps, snap);
    await finishSnapshotDelete(deps, snap, log);
    if (snap.phase === 'creating') report.rolledBack++;
    else report.deletesFinished++;
  }
  for (const name of await deps.fs.readdir(deps.layout.snapshotsDir)) {
    if (!deps.snapshots.get(name) && deps.snapshots.quarantinedSnapshot(name) === undefined) {
      log.warn({ dir: deps.layout.snapshotDataDir(name) }, 'snapshot directory has no record: left in place');
      report.orphanDirs++;
    }
  }
  log.info(report, 'snapshot reconciliation finished');
  return report;
}

/** Whatever an interrupted copy held on the snapshot's source volume (a frozen filesystem) is let go. */
async function letGoOfSource(deps: SnapshotDeps, snap: SnapshotRecord): Promise<void> {
  const source = deps.catalog.getVolume(snap.sourceVolumeId);
  if (source) await backendFor(deps, source.kind).afterInterruptedSnapshot?.(source);
}
