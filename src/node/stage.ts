import { FailedPreconditionError, InvalidArgumentError } from '../errors';
import type { Logger } from '../log';
import type { Capability } from '../domain/capability';
import type { NodeVolumeRecord, VolumeRecord } from '../volumes/model';
import { detachLoops } from './block';
import { confineToAllowedRoot } from './confine';
import { mountStateAt, unmountVolumeAt } from './mounts';
import { loadVolume, nodeKindOf, nodeVolumeLockKey, type NodeDeps } from './node-deps';
import type { StageCommand } from '../domain/commands';
import { isStaticVolumeId, parseStaticAttributes, resolveStaticDir, stagedStaticVolume, staticVolumeRecord } from '../volumes/static';

export type { StageCommand } from '../domain/commands';


export function checkAccessType(vol: VolumeRecord, cap: Capability): void {
  if (cap.accessType !== vol.accessType) {
    throw new InvalidArgumentError(`volume ${vol.id} is a ${vol.accessType} volume, not ${cap.accessType}`);
  }
}

export function emptyNodeRecord(volumeId: string): NodeVolumeRecord {
  return { id: volumeId, stagingPath: null, loopDevice: null, targets: {} };
}

/**
 * CSI spec, NodeStageVolume; a repeat with the same path is OK. What staging means is the kind's (src/kinds/<kind>/
 * node.ts): a directory bind-mounted (dir, quota), an image on a loop device (block), a filesystem mounted from one
 * (image).
 */
export async function stageVolume(deps: NodeDeps, cmd: StageCommand, log: Logger): Promise<void> {
  await deps.locks.with([nodeVolumeLockKey(cmd.volumeId)], `volume ${cmd.volumeId}`, async () => {
    const [vol, record] = isStaticVolumeId(cmd.volumeId) ? await resolveStatic(deps, cmd) : [await loadVolume(deps, cmd.volumeId), deps.nodeRecords.get(cmd.volumeId) ?? emptyNodeRecord(cmd.volumeId)];
    checkAccessType(vol, cmd.capability);
    await confineToAllowedRoot(deps.fs, 'staging_target_path', cmd.stagingPath, deps.config.allowedPathRoot);
    // Written before the bind, so a retry after a crash in between knows that bind as this volume's.
    if (record.staticDir && deps.nodeRecords.get(cmd.volumeId)?.staticDir !== record.staticDir) {
      await deps.nodeRecords.ensureRoom();
      await deps.nodeRecords.put(record);
    }
    // A full state filesystem fails a first stage before any loop device or mount is made (nothing to undo); a
    // repeat of a finished stage writes nothing and still answers OK (kubelet repeats it at every pod start).
    const kind = nodeKindOf(deps, vol.kind);
    if (kind.onLoop && (record.stagingPath !== cmd.stagingPath || record.loopDevice === null)) await deps.nodeRecords.ensureRoom();
    await kind.stage(deps, vol, record, cmd.stagingPath, cmd.capability, log);
  });
}

/**
 * A static volume (src/volumes/static.ts) has no controller record: its directory comes from the PV's volumeAttributes,
 * checked here on every stage, and its real path goes into the node record the kind's stage writes.
 */
async function resolveStatic(deps: NodeDeps, cmd: StageCommand): Promise<[VolumeRecord, NodeVolumeRecord]> {
  const attrs = parseStaticAttributes(cmd.volumeId, cmd.volumeContext);
  const dir = await resolveStaticDir(deps.fs, cmd.volumeId, attrs, deps.config.nodeId, deps.config.volumeRoots);
  const existing = deps.nodeRecords.get(cmd.volumeId);
  if (existing?.staticDir && existing.staticDir !== dir) {
    throw new FailedPreconditionError(`static volume ${cmd.volumeId} is staged from ${existing.staticDir}, not ${dir}`);
  }
  return [staticVolumeRecord(cmd.volumeId, dir, deps.config.nodeId), { ...(existing ?? emptyNodeRecord(cmd.volumeId)), staticDir: dir }];
}

/** The controller's record if it is still there (unstage must work after the volume's record is gone). */
export async function volumeIfKnown(deps: NodeDeps, volumeId: string): Promise<VolumeRecord | null> {
  if (isStaticVolumeId(volumeId)) return stagedStaticVolume(deps.nodeRecords.get(volumeId), deps.config.nodeId);
  return deps.controllerState.volumeRecord(volumeId).catch(() => null);
}

/**
 * CSI spec, NodeUnstageVolume: unmount the staging path (filesystem, image) and detach the loop device (block,
 * image); succeed when nothing is there, even after this node lost its records. A volume on a loop device that is
 * still published is left staged: detaching would pull the device from under its targets.
 */
export async function unstageVolume(deps: NodeDeps, volumeId: string, stagingPath: string, log: Logger): Promise<void> {
  await deps.locks.with([nodeVolumeLockKey(volumeId)], `volume ${volumeId}`, async () => {
    await confineToAllowedRoot(deps.fs, 'staging_target_path', stagingPath, deps.config.allowedPathRoot);
    const record = deps.nodeRecords.get(volumeId);
    const vol = await volumeIfKnown(deps, volumeId);
    const onLoop = (vol !== null && deps.nodeKinds.get(vol.kind)?.onLoop === true) || Boolean(record?.loopDevice);
    if (onLoop) await refuseWhilePublished(deps, record);
    const left = await unmountVolumeAt(deps, stagingPath, volumeId);
    if (left === 'foreign') throw new FailedPreconditionError(`staging path ${stagingPath} has a mount that is not volume ${volumeId}: left alone`);
    if (onLoop) await detachLoops(deps, volumeId, log);
    if (record) await saveOrDrop(deps, { ...record, stagingPath: record.stagingPath === stagingPath ? null : record.stagingPath, loopDevice: null });
    log.info({ volumeId, stagingPath }, 'volume unstaged');
  });
}

async function refuseWhilePublished(deps: NodeDeps, record: NodeVolumeRecord | undefined): Promise<void> {
  for (const target of Object.keys(record?.targets ?? {})) {
    if ((await mountStateAt(deps, target, record!.id)) === 'ours') {
      throw new FailedPreconditionError(`volume ${record!.id} is still published at ${target}; unpublish it first`);
    }
  }
}

/** After an unstage or unpublish: the record shrinks or goes, so it may spend the space reserve on a full disk. */
export async function saveOrDrop(deps: NodeDeps, record: NodeVolumeRecord): Promise<void> {
  if (record.stagingPath === null && !record.loopDevice && Object.keys(record.targets).length === 0) await deps.nodeRecords.delete(record.id);
  else await deps.nodeRecords.put(record, { freeing: true });
}
