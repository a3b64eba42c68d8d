import path from 'node:path';
import { AlreadyExistsError, FailedPreconditionError, InternalError } from '../errors';
import type { Logger } from '../log';
import type { HostFs } from '../os/host-fs';
import { isReadOnlyMode } from '../domain/capability';
import type { NodeVolumeRecord, VolumeRecord } from '../volumes/model';
import { attachReadOnlyLoop, currentLoop, detachUnusedReadOnlyLoops } from './block';
import { dropEphemeralIfUnused } from './ephemeral';
import { mountStateAt, topMountAt, unmountVolumeAt } from './mounts';
import { loadVolume, nodeVolumeLockKey, type NodeDeps } from './node-deps';
import { checkAccessType, emptyNodeRecord, saveOrDrop, volumeIfKnown } from './stage';
import { confineToAllowedRoot } from './confine';
import type { NodePublishCommand as PublishCommand } from '../domain/commands';

export type { NodePublishCommand as PublishCommand } from '../domain/commands';


/** CSI spec, NodePublishVolume: bind the staged volume at the target, read-only when asked. */
export async function publishVolume(deps: NodeDeps, cmd: PublishCommand, log: Logger): Promise<void> {
  await deps.locks.with([nodeVolumeLockKey(cmd.volumeId)], `volume ${cmd.volumeId}`, async () => {
    const vol = await loadVolume(deps, cmd.volumeId);
    checkAccessType(vol, cmd.capability);
    await confineToAllowedRoot(deps.fs, 'target_path', cmd.targetPath, deps.config.allowedPathRoot);
    // Checked even where only read (and on the idempotent path): the same request must get the same answer.
    await confineToAllowedRoot(deps.fs, 'staging_target_path', cmd.stagingPath, deps.config.allowedPathRoot);
    const readonly = cmd.readonly || isReadOnlyMode(cmd.capability.mode);
    const record = deps.nodeRecords.get(vol.id) ?? emptyNodeRecord(vol.id);
    const atTarget = await mountStateAt(deps, cmd.targetPath, vol.id);
    if (atTarget === 'foreign') throw new FailedPreconditionError(`target path ${cmd.targetPath} already has another mount`);
    if (atTarget === 'ours') return answerExisting(deps, record, cmd, readonly);
    await checkSingleWriter(deps, record, cmd);
    // Room for the record before the mount: a full state filesystem fails here with nothing to undo.
    await deps.nodeRecords.ensureRoom();
    const staged = await publishSource(deps, vol, record, cmd.stagingPath);
    // A crash between attaching a read-only loop device and binding it left one that nothing uses.
    if (vol.accessType === 'block') await detachUnusedReadOnlyLoops(deps, vol.id, log);
    const ownLoop = vol.accessType === 'block' && readonly ? await attachReadOnlyLoop(deps, vol.id, log) : null;
    try {
      await makeTarget(deps.fs, cmd.targetPath, vol.accessType === 'block');
      await deps.mounter.bind(ownLoop ?? staged, cmd.targetPath, { readonly, flags: cmd.capability.mountFlags });
    } catch (err) {
      if (ownLoop) await deps.loops.detach(ownLoop).catch(() => undefined);
      throw err;
    }
    const targets = { ...record.targets, [cmd.targetPath]: { readonly, mode: cmd.capability.mode, loopDevice: ownLoop } };
    await deps.nodeRecords.put({ ...record, targets });
    log.info({ volumeId: vol.id, targetPath: cmd.targetPath, readonly }, 'volume published');
  });
}

/** What to bind at the target: the staging mount (filesystem) or the staged loop device (block). */
async function publishSource(deps: NodeDeps, vol: VolumeRecord, record: NodeVolumeRecord, stagingPath: string): Promise<string> {
  if (vol.accessType === 'block') {
    const device = record.stagingPath === stagingPath ? await currentLoop(deps, vol.id) : null;
    if (!device) throw new FailedPreconditionError(`block volume ${vol.id} is not staged at ${stagingPath}`);
    return device;
  }
  if ((await mountStateAt(deps, stagingPath, vol.id)) !== 'ours') {
    throw new FailedPreconditionError(`volume ${vol.id} is not staged at ${stagingPath}`);
  }
  return stagingPath;
}

/** A directory for a filesystem volume; an empty file (a bind-mount point for the device) for a block volume. */
async function makeTarget(fs: HostFs, targetPath: string, block: boolean): Promise<void> {
  if (!block) {
    await fs.mkdirs(targetPath, 0o750);
    return;
  }
  await fs.mkdirs(path.dirname(targetPath), 0o750);
  await fs.ensureFile(targetPath, 0o600);
}

async function answerExisting(deps: NodeDeps, record: NodeVolumeRecord, cmd: PublishCommand, readonly: boolean): Promise<void> {
  const known = record.targets[cmd.targetPath];
  if (!known) {
    // Mounted but unrecorded: a crash between the mount and the record, or lost state. The mount is ours, so this is
    // the same volume; record it now, so that unstage refuses while it is published and the single-writer check sees it.
    const top = topMountAt(await deps.mounter.list(), cmd.targetPath);
    const loop = /^\/(loop\d+)$/.exec(top?.root ?? '')?.[1];
    const ownLoop = loop !== undefined && readonly ? `/dev/${loop}` : null;
    const target = { readonly, mode: cmd.capability.mode, loopDevice: ownLoop };
    await deps.nodeRecords.put({ ...record, targets: { ...record.targets, [cmd.targetPath]: target } });
    return;
  }
  if (known.readonly !== readonly || known.mode !== cmd.capability.mode) {
    throw new AlreadyExistsError(`volume ${cmd.volumeId} is already published at ${cmd.targetPath} with readonly=${known.readonly}, mode ${known.mode}`);
  }
}

/** CSI spec, SINGLE_NODE_SINGLE_WRITER: published at one target path at most. */
async function checkSingleWriter(deps: NodeDeps, record: NodeVolumeRecord, cmd: PublishCommand): Promise<void> {
  for (const [path, target] of Object.entries(record.targets)) {
    if (path === cmd.targetPath) continue;
    const exclusive = cmd.capability.mode === 'SINGLE_NODE_SINGLE_WRITER' || target.mode === 'SINGLE_NODE_SINGLE_WRITER';
    if (exclusive && (await mountStateAt(deps, path, cmd.volumeId)) === 'ours') {
      throw new FailedPreconditionError(`volume ${cmd.volumeId} is SINGLE_NODE_SINGLE_WRITER and already published at ${path}`);
    }
  }
}

/**
 * CSI spec, NodeUnpublishVolume: unmount and remove the target. Succeeds when the target is already gone, even if
 * this node lost its records (answering NOT_FOUND there would wedge pod deletion).
 */
export async function unpublishVolume(deps: NodeDeps, volumeId: string, targetPath: string, log: Logger): Promise<void> {
  await deps.locks.with([nodeVolumeLockKey(volumeId)], `volume ${volumeId}`, async () => {
    await confineToAllowedRoot(deps.fs, 'target_path', targetPath, deps.config.allowedPathRoot);
    const left = await unmountVolumeAt(deps, targetPath, volumeId);
    if (left === 'foreign') throw new FailedPreconditionError(`target path ${targetPath} has a mount that is not volume ${volumeId}: left alone`);
    await removeTarget(deps.fs, targetPath);
    const record = deps.nodeRecords.get(volumeId);
    if (record?.loopDevice || record?.targets[targetPath]?.loopDevice || (await volumeIfKnown(deps, volumeId))?.accessType === 'block') {
      await detachUnusedReadOnlyLoops(deps, volumeId, log);
    }
    if (record) {
      const targets = { ...record.targets };
      delete targets[targetPath];
      if (record.ephemeral) await dropEphemeralIfUnused(deps, { ...record, targets }, log);
      else if (record.targets[targetPath]) await saveOrDrop(deps, { ...record, targets });
    }
    log.info({ volumeId, targetPath }, 'volume unpublished');
  });
}

/** Removes the empty directory (or empty file) left after unmounting; never removes anything with content. */
async function removeTarget(fs: HostFs, targetPath: string): Promise<void> {
  const s = await fs.lstat(targetPath).catch(() => null);
  if (!s) return;
  try {
    if (s.type === 'directory') await fs.removeEmptyDir(targetPath);
    else if (s.type === 'file' && s.size === 0n) await fs.unlink(targetPath);
    else throw new FailedPreconditionError(`target path ${targetPath} is not an empty directory or file: left in place`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOTEMPTY') {
      throw new FailedPreconditionError(`target path ${targetPath} is not empty after unmount: left in place`);
    }
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    if (err instanceof FailedPreconditionError) throw err;
    throw new InternalError(`removing target path ${targetPath}: ${(err as Error).message}`, { cause: err });
  }
}
