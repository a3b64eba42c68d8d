import { mkdir } from 'node:fs/promises';
import { FailedPreconditionError, InvalidArgumentError } from '../errors';
import type { Logger } from '../log';
import type { Capability } from '../validate/capability';
import type { NodeVolumeRecord, VolumeRecord } from '../volumes/model';
import { mountStateAt, unmountVolumeAt } from './mounts';
import { loadVolume, nodeBackend, nodeVolumeLockKey, type NodeDeps } from './node-deps';

export interface StageCommand {
  volumeId: string;
  stagingPath: string;
  capability: Capability;
}

export function checkAccessType(vol: VolumeRecord, cap: Capability): void {
  if (cap.accessType !== vol.accessType) {
    throw new InvalidArgumentError(`volume ${vol.id} is a ${vol.accessType} volume, not ${cap.accessType}`);
  }
}

export function emptyNodeRecord(volumeId: string): NodeVolumeRecord {
  return { id: volumeId, stagingPath: null, targets: {} };
}

/** CSI spec, NodeStageVolume: bind the volume's directory at the staging path; a repeat with the same path is OK. */
export async function stageVolume(deps: NodeDeps, cmd: StageCommand, log: Logger): Promise<void> {
  await deps.locks.with([nodeVolumeLockKey(cmd.volumeId)], `volume ${cmd.volumeId}`, async () => {
    const vol = await loadVolume(deps, cmd.volumeId);
    checkAccessType(vol, cmd.capability);
    const record = deps.nodeRecords.get(cmd.volumeId) ?? emptyNodeRecord(cmd.volumeId);
    const here = await mountStateAt(deps, cmd.stagingPath, vol.id);
    if (here === 'foreign') throw new FailedPreconditionError(`staging path ${cmd.stagingPath} already has another mount`);
    if (here === 'none') {
      await refuseSecondStagingPath(deps, record, cmd.stagingPath);
      await mkdir(cmd.stagingPath, { recursive: true, mode: 0o750 });
      await deps.mounter.bind(nodeBackend(deps, vol.kind).stageSource(vol), cmd.stagingPath, { readonly: false, flags: [] });
      log.info({ volumeId: vol.id, stagingPath: cmd.stagingPath }, 'volume staged');
    }
    if (record.stagingPath !== cmd.stagingPath) await deps.nodeRecords.put({ ...record, stagingPath: cmd.stagingPath });
  });
}

async function refuseSecondStagingPath(deps: NodeDeps, record: NodeVolumeRecord, stagingPath: string): Promise<void> {
  const previous = record.stagingPath;
  if (previous === null || previous === stagingPath) return;
  if ((await mountStateAt(deps, previous, record.id)) === 'ours') {
    throw new FailedPreconditionError(`volume ${record.id} is already staged at ${previous}`);
  }
}

/** CSI spec, NodeUnstageVolume: unmount the staging path; succeed when nothing is mounted there (even after state loss). */
export async function unstageVolume(deps: NodeDeps, volumeId: string, stagingPath: string, log: Logger): Promise<void> {
  await deps.locks.with([nodeVolumeLockKey(volumeId)], `volume ${volumeId}`, async () => {
    const left = await unmountVolumeAt(deps, stagingPath, volumeId);
    if (left === 'foreign') throw new FailedPreconditionError(`staging path ${stagingPath} has a mount that is not volume ${volumeId}: left alone`);
    const record = deps.nodeRecords.get(volumeId);
    if (record) await saveOrDrop(deps, { ...record, stagingPath: record.stagingPath === stagingPath ? null : record.stagingPath });
    log.info({ volumeId, stagingPath }, 'volume unstaged');
  });
}

export async function saveOrDrop(deps: NodeDeps, record: NodeVolumeRecord): Promise<void> {
  if (record.stagingPath === null && Object.keys(record.targets).length === 0) await deps.nodeRecords.delete(record.id);
  else await deps.nodeRecords.put(record);
}
