import { AlreadyExistsError, FailedPreconditionError } from '../errors';
import type { Logger } from '../log';
import type { VolumeCondition, VolumeUsage } from '../volumes/backend';
import { dirUsage } from '../volumes/usage';
import type { NodeVolumeRecord } from '../volumes/model';
import { confineToAllowedRoot } from './confine';
import { mountStateAt } from './mounts';
import { nodeVolumeLockKey, type NodeDeps } from './node-deps';
import type { EphemeralPublishCommand } from '../domain/commands';

export { EPHEMERAL_CONTEXT_KEY, EPHEMERAL_SIZE_KEY, type EphemeralPublishCommand } from '../domain/commands';



export function ephemeralDir(deps: NodeDeps, volumeId: string): string {
  return deps.layout.ephemeralDataDir(volumeId);
}

/**
 * An inline volume lives and dies with its pod: created at NodePublish (kubelet never calls CreateVolume or
 * NodeStage for it) and deleted at NodeUnpublish. The node record is written before the directory, so a crash in
 * between leaves a record that the retry or the unpublish finds.
 */
export async function publishEphemeral(deps: NodeDeps, cmd: EphemeralPublishCommand, log: Logger): Promise<void> {
  await deps.locks.with([nodeVolumeLockKey(cmd.volumeId)], `volume ${cmd.volumeId}`, async () => {
    const existing = deps.nodeRecords.get(cmd.volumeId);
    if (existing && !existing.ephemeral) throw new FailedPreconditionError(`volume ${cmd.volumeId} is a persistent volume, not an inline one`);
    await confineToAllowedRoot(deps.fs, 'target_path', cmd.targetPath, deps.config.allowedPathRoot);
    const atTarget = await mountStateAt(deps, cmd.targetPath, cmd.volumeId);
    if (atTarget === 'foreign') throw new FailedPreconditionError(`target path ${cmd.targetPath} already has another mount`);
    const record: NodeVolumeRecord = existing ?? { id: cmd.volumeId, stagingPath: null, loopDevice: null, targets: {}, ephemeral: { capacityBytes: cmd.sizeBytes.toString() } };
    if (atTarget === 'ours') {
      const known = record.targets[cmd.targetPath];
      if (known && known.readonly !== cmd.readonly) throw new AlreadyExistsError(`inline volume ${cmd.volumeId} is already published with readonly=${known.readonly}`);
      return;
    }
    await deps.nodeRecords.ensureRoom();
    if (!existing) await deps.nodeRecords.put(record);
    const dir = ephemeralDir(deps, cmd.volumeId);
    await deps.fs.mkdirs(dir);
    await deps.fs.chmod(dir, 0o777);
    await deps.fs.mkdirs(cmd.targetPath, 0o750);
    await deps.mounter.bind(dir, cmd.targetPath, { readonly: cmd.readonly, flags: cmd.capability.mountFlags });
    await deps.nodeRecords.put({ ...record, targets: { ...record.targets, [cmd.targetPath]: { readonly: cmd.readonly, mode: cmd.capability.mode } } });
    log.info({ volumeId: cmd.volumeId, targetPath: cmd.targetPath, sizeBytes: cmd.sizeBytes.toString() }, 'inline volume created and published');
  });
}

/** After the last target of an inline volume is unmounted, its data and record go. */
export async function dropEphemeralIfUnused(deps: NodeDeps, record: NodeVolumeRecord, log: Logger): Promise<void> {
  if (Object.keys(record.targets).length > 0) {
    await deps.nodeRecords.put(record, { freeing: true });
    return;
  }
  await deps.fs.removeTree(ephemeralDir(deps, record.id));
  await deps.nodeRecords.delete(record.id);
  log.info({ volumeId: record.id }, 'inline volume deleted');
}

export async function ephemeralStats(deps: NodeDeps, record: NodeVolumeRecord): Promise<{ usage: VolumeUsage; condition: VolumeCondition }> {
  const usage = await dirUsage(deps.fs, ephemeralDir(deps, record.id), BigInt(record.ephemeral!.capacityBytes), deps.statFs);
  return { usage, condition: { abnormal: false, message: 'inline volume directory present' } };
}
