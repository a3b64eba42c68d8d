import { FailedPreconditionError } from '../../errors';
import type { Logger } from '../../log';
import { ensureLoop } from '../../node/block';
import type { NodeDeps } from '../../node/node-deps';
import type { NodeKindHalf } from '../../node/node-kind';
import type { NodeVolumeRecord, VolumeRecord } from '../../volumes/model';

/**
 * NodeStageVolume of a raw block volume: its image attached to a loop device, published later as a device file
 * (src/node/publish.ts). Nothing is mounted at the staging path.
 */
async function stageBlock(deps: NodeDeps, vol: VolumeRecord, record: NodeVolumeRecord, stagingPath: string, log: Logger): Promise<void> {
  if (record.stagingPath !== null && record.stagingPath !== stagingPath && record.loopDevice) {
    throw new FailedPreconditionError(`volume ${vol.id} is already staged at ${record.stagingPath}`);
  }
  const device = await ensureLoop(deps, vol.id, log);
  if (record.stagingPath !== stagingPath || record.loopDevice !== device) {
    await deps.nodeRecords.put({ ...record, stagingPath, loopDevice: device });
    log.info({ volumeId: vol.id, stagingPath, device }, 'block volume staged');
  }
}

/** Loop devices of staged volumes are put back at start-up for every kind on one (src/node/block.ts). */
export const blockNode: NodeKindHalf = {
  onLoop: true,
  stage: (deps, vol, record, stagingPath, _cap, log) => stageBlock(deps, vol, record, stagingPath, log),
};
