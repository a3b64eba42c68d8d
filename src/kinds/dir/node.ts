import { FailedPreconditionError } from '../../errors';
import type { Logger } from '../../log';
import { mountStateAt } from '../../node/mounts';
import type { NodeKindHalf } from '../../node/node-kind';
import type { NodeDeps } from '../../node/node-deps';
import type { NodeVolumeRecord, VolumeRecord } from '../../volumes/model';

/**
 * NodeStageVolume of a volume kept as a directory (dir, and quota, whose directory carries a project quota): the
 * directory is bind-mounted at the staging path, and the node record names it.
 */
async function stageDirectory(deps: NodeDeps, vol: VolumeRecord, record: NodeVolumeRecord, stagingPath: string, log: Logger): Promise<void> {
  const here = await mountStateAt(deps, stagingPath, vol.id);
  if (here === 'foreign') throw new FailedPreconditionError(`staging path ${stagingPath} already has another mount`);
  if (here === 'none') {
    await refuseSecondStagingPath(deps, record, stagingPath);
    await deps.nodeRecords.ensureRoom();
    await deps.fs.mkdirs(stagingPath, 0o750);
    await deps.mounter.bind(deps.controllerState.stageSource(vol), stagingPath, { readonly: false, flags: [] });
    log.info({ volumeId: vol.id, stagingPath }, 'volume staged');
  }
  if (record.stagingPath !== stagingPath) await deps.nodeRecords.put({ ...record, stagingPath });
}

async function refuseSecondStagingPath(deps: NodeDeps, record: NodeVolumeRecord, stagingPath: string): Promise<void> {
  const previous = record.stagingPath;
  if (previous === null || previous === stagingPath) return;
  if ((await mountStateAt(deps, previous, record.id)) === 'ours') {
    throw new FailedPreconditionError(`volume ${record.id} is already staged at ${previous}`);
  }
}

/** The node half of a plain directory volume: nothing to grow on the node, nothing to put back after a reboot. */
export const directoryNode: NodeKindHalf = {
  onLoop: false,
  stage: (deps, vol, record, stagingPath, _cap, log) => stageDirectory(deps, vol, record, stagingPath, log),
};
