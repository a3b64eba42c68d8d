import { AlreadyExistsError, FailedPreconditionError } from '../errors';
import type { Logger } from '../log';
import type { VolumeCondition, VolumeUsage } from '../volumes/backend';
import { dirUsage } from '../volumes/usage';
import type { NodeVolumeRecord } from '../volumes/model';
import { confineToAllowedRoot } from './confine';
import { mountStateAt } from './mounts';
import { inlineImageHalf, isInlineImage, nodeVolumeLockKey, type NodeDeps } from './node-deps';
import type { EphemeralPublishCommand } from '../domain/commands';
import { toCondition } from '../domain/health';
import { nodeVolumeFindings } from './health';

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
    // CSI spec, NodePublishVolume: "Volume published but is incompatible" is ALREADY_EXISTS.
    if (existing && (existing.ephemeral?.fsType ?? null) !== cmd.fsType) {
      throw new AlreadyExistsError(`inline volume ${cmd.volumeId} already exists as ${existing.ephemeral?.fsType ? `an ${existing.ephemeral.fsType} image` : 'a plain directory'}`);
    }
    if (cmd.fsType !== null && !existing) await inlineImageHalf(deps).requireSupported(deps, cmd.fsType);
    await confineToAllowedRoot(deps.fs, 'target_path', cmd.targetPath, deps.config.allowedPathRoot);
    const atTarget = await mountStateAt(deps, cmd.targetPath, cmd.volumeId);
    if (atTarget === 'foreign') throw new FailedPreconditionError(`target path ${cmd.targetPath} already has another mount`);
    const ephemeral = { capacityBytes: cmd.sizeBytes.toString(), ...(cmd.fsType === null ? {} : { fsType: cmd.fsType, formatted: false }) };
    let record: NodeVolumeRecord = existing ?? { id: cmd.volumeId, stagingPath: null, loopDevice: null, targets: {}, ephemeral };
    if (atTarget === 'ours') {
      const known = record.targets[cmd.targetPath];
      if (known && known.readonly !== cmd.readonly) throw new AlreadyExistsError(`inline volume ${cmd.volumeId} is already published with readonly=${known.readonly}`);
      // Bound but unrecorded (a crash between the bind and the record): recorded now, so start-up never takes it for
      // a publish that did not finish.
      if (!known && existing) await deps.nodeRecords.put({ ...existing, targets: { ...existing.targets, [cmd.targetPath]: { readonly: cmd.readonly, mode: cmd.capability.mode } } });
      return;
    }
    await deps.nodeRecords.ensureRoom();
    if (!existing) await deps.nodeRecords.put(record);
    if (cmd.fsType === null) await publishDirectory(deps, cmd);
    else record = await inlineImageHalf(deps).publish(deps, cmd, record, log);
    await deps.nodeRecords.put({ ...record, targets: { ...record.targets, [cmd.targetPath]: { readonly: cmd.readonly, mode: cmd.capability.mode } } });
    log.info({ volumeId: cmd.volumeId, targetPath: cmd.targetPath, sizeBytes: cmd.sizeBytes.toString() }, 'inline volume created and published');
  });
}

async function publishDirectory(deps: NodeDeps, cmd: EphemeralPublishCommand): Promise<void> {
  const dir = ephemeralDir(deps, cmd.volumeId);
  await deps.fs.mkdirs(dir);
  await deps.fs.chmod(dir, 0o777);
  await deps.fs.mkdirs(cmd.targetPath, 0o750);
  await deps.mounter.bind(dir, cmd.targetPath, { readonly: cmd.readonly, flags: cmd.capability.mountFlags });
}

/**
 * After the last target of an inline volume is unmounted, its data and record go (an image's mount and loop
 * devices first). The record goes last, so a crash at any step leaves it for the retry or start-up to finish.
 */
export async function dropEphemeralIfUnused(deps: NodeDeps, record: NodeVolumeRecord, log: Logger): Promise<void> {
  if (Object.keys(record.targets).length > 0) {
    await deps.nodeRecords.put(record, { freeing: true });
    return;
  }
  if (isInlineImage(record)) await inlineImageHalf(deps).release(deps, record, log);
  await deps.fs.removeTree(ephemeralDir(deps, record.id));
  await deps.nodeRecords.delete(record.id);
  log.info({ volumeId: record.id }, 'inline volume deleted');
}

export async function ephemeralStats(deps: NodeDeps, record: NodeVolumeRecord, volumePath: string): Promise<{ usage: VolumeUsage | null; condition: VolumeCondition }> {
  if (isInlineImage(record)) {
    // As for a persistent volume (src/node/stats.ts): an abnormal volume answers its condition even unmeasured.
    const [measured, findings] = await Promise.all([
      inlineImageHalf(deps).usage(deps, volumePath).then((usage) => ({ usage }), (err: unknown) => ({ err })),
      nodeVolumeFindings(deps, record.id, volumePath),
    ]);
    if ('err' in measured && findings.length === 0) throw measured.err;
    return { usage: 'usage' in measured ? measured.usage : null, condition: toCondition(findings, 'inline image volume is healthy') };
  }
  const usage = await dirUsage(deps.fs, ephemeralDir(deps, record.id), BigInt(record.ephemeral!.capacityBytes), deps.statFs);
  return { usage, condition: { abnormal: false, message: 'inline volume directory present' } };
}

/**
 * At start-up, after loop devices are back (reattachStagedLoops re-attaches an inline image's too): an inline image
 * volume whose publish never finished (no target recorded, its filesystem mounted nowhere but its own mount) is
 * cleaned up, as its pod never got it; kubelet's retry, if any, makes it afresh. One with targets gets its own mount
 * back, so the targets kubelet binds again after a reboot show its data. Returns how many were cleaned and remounted.
 */
export async function restoreInlineImages(deps: NodeDeps, log: Logger): Promise<{ cleaned: number; remounted: number }> {
  const done = { cleaned: 0, remounted: 0 };
  for (const record of [...deps.nodeRecords.values()]) {
    if (!isInlineImage(record)) continue;
    try {
      if (Object.keys(record.targets).length === 0 && !(await inlineImageHalf(deps).mountedElsewhere(deps, record))) {
        await dropEphemeralIfUnused(deps, record, log);
        done.cleaned++;
      } else if (await inlineImageHalf(deps).restore(deps, record, log)) done.remounted++;
    } catch (err) {
      log.error({ volumeId: record.id, err: (err as Error).message }, 'could not restore an inline image volume');
    }
  }
  return done;
}
