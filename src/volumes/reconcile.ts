import { forEachBounded } from '../state/bounded';
import type { Logger } from '../log';
import { backendFor, type ControllerDeps } from './controller-deps';
import { finishDelete } from './lifecycle';

export interface ReconcileReport {
  rolledBack: number;
  deletesFinished: number;
  abnormal: number;
  orphanDirs: number;
  danglingAttachments: number;
}

/**
 * Brings records and disk back into agreement after a crash, before the driver reports ready:
 * an unanswered create is undone (the CO never saw the volume, so there is no user data in it), an interrupted
 * delete is finished, and directories no record knows are logged and left alone (never delete what may be data).
 */
export async function reconcileController(deps: ControllerDeps, log: Logger): Promise<ReconcileReport> {
  await deps.fs.mkdirs(deps.layout.volumesDir, 0o700);
  const report: ReconcileReport = { rolledBack: 0, deletesFinished: 0, abnormal: 0, orphanDirs: 0, danglingAttachments: 0 };
  // Each volume is reconciled on its own, many at once (src/state/bounded.ts): never one stat after another.
  const volumes = [...deps.catalog.volumes.values()];
  await forEachBounded(
    volumes,
    async (vol) => {
      if (vol.phase === 'creating') {
        await backendFor(deps, vol.kind).remove(vol);
        await deps.catalog.deleteVolume(vol);
        log.warn({ volumeId: vol.id, name: vol.name }, 'rolled back a create that never answered');
        report.rolledBack++;
      } else if (vol.phase === 'deleting') {
        await finishDelete(deps, vol, log);
        report.deletesFinished++;
      } else {
        const condition = await backendFor(deps, vol.kind).condition(vol);
        if (condition.abnormal) {
          log.error({ volumeId: vol.id, name: vol.name, condition: condition.message }, 'volume is abnormal');
          report.abnormal++;
        }
      }
    },
    { log, what: `volumes reconciled (of ${volumes.length})` },
  );
  for (const att of [...deps.catalog.attachments.values()]) {
    // An attachment of a volume whose record is quarantined is kept: the volume may well still be in use.
    if (!deps.catalog.getVolume(att.volumeId) && deps.catalog.quarantinedVolume(att.volumeId) === undefined) {
      await deps.catalog.deleteAttachment(att);
      report.danglingAttachments++;
    }
  }
  for (const name of await deps.fs.readdir(deps.layout.volumesDir)) {
    if (!deps.catalog.getVolume(name) && deps.catalog.quarantinedVolume(name) === undefined) {
      log.warn({ dir: deps.layout.volumeDataDir(name) }, 'directory in the state directory has no volume record: left in place');
      report.orphanDirs++;
    }
  }
  log.info(report, 'controller reconciliation finished');
  return report;
}
