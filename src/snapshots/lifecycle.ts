import { AbortedError, AlreadyExistsError, FailedPreconditionError, NotFoundError } from '../errors';
import type { Logger } from '../log';
import { backendFor, snapshotLockKey, snapshotNameLockKey, volumeLockKey } from '../volumes/controller-deps';
import { requireReadyVolume } from '../volumes/lifecycle';
import type { VolumeRecord } from '../volumes/model';
import type { SnapshotRecord } from './model';
import type { CreateSnapshotCommand } from '../domain/commands';
import type { SnapshotDeps } from './catalog';

export type { CreateSnapshotCommand } from '../domain/commands';


/** CSI spec, CreateSnapshot: same name and source answers the same snapshot; same name, other source ALREADY_EXISTS. */
export async function createSnapshot(deps: SnapshotDeps, cmd: CreateSnapshotCommand, log: Logger): Promise<SnapshotRecord> {
  const keys = [snapshotNameLockKey(cmd.name), volumeLockKey(cmd.sourceVolumeId)];
  return deps.locks.with(keys, `snapshot ${JSON.stringify(cmd.name)} or its source volume`, async () => {
    const existing = deps.snapshots.getByName(cmd.name);
    if (existing) return answerExisting(existing, cmd);
    // As for volumes (src/volumes/lifecycle.ts): a name held by a snapshot whose record is unreadable is taken.
    const quarantined = deps.snapshots.quarantinedSnapshotNamed(cmd.name);
    if (quarantined !== undefined) {
      throw new AlreadyExistsError(`snapshot ${JSON.stringify(cmd.name)} already exists as ${quarantined}, whose state record is unreadable; repair the record or delete its data by hand`);
    }
    const source = requireReadyVolume(deps, cmd.sourceVolumeId);
    return takeSnapshot(deps, source, { name: cmd.name, parameters: cmd.parameters, groupId: null, createdAt: deps.now() }, log);
  });
}

function answerExisting(existing: SnapshotRecord, cmd: CreateSnapshotCommand): SnapshotRecord {
  if (existing.sourceVolumeId !== cmd.sourceVolumeId) {
    throw new AlreadyExistsError(`snapshot ${JSON.stringify(cmd.name)} already exists for volume ${existing.sourceVolumeId}`);
  }
  if (existing.phase !== 'ready') throw new AbortedError(`snapshot ${existing.id} is being ${existing.phase === 'creating' ? 'created' : 'deleted'}`);
  return existing;
}

export interface SnapshotOptions {
  name: string;
  parameters: Record<string, string>;
  groupId: string | null;
  createdAt: Date;
}

/**
 * Copies a volume into a new snapshot. The caller holds the source volume's lock, so the copy is not raced by a
 * delete or an expansion of that volume; other volumes are never blocked. The record is written first in phase
 * creating, so a crash mid-copy is rolled back at start-up; ready_to_use becomes true when the copy has finished.
 */
export async function takeSnapshot(deps: SnapshotDeps, source: VolumeRecord, opts: SnapshotOptions, log: Logger): Promise<SnapshotRecord> {
  const record: SnapshotRecord = {
    id: deps.newId(),
    name: opts.name,
    sourceVolumeId: source.id,
    sizeBytes: source.capacityBytes,
    kind: source.kind,
    accessType: source.accessType,
    fsType: source.fsType ?? null,
    parameters: opts.parameters,
    groupId: opts.groupId,
    phase: 'creating',
    createdAt: opts.createdAt.toISOString(),
  };
  await deps.snapshots.put(record);
  const dir = deps.layout.snapshotDataDir(record.id);
  try {
    await deps.fs.mkdirs(dir, 0o700);
    const started = Date.now();
    await backendFor(deps, source.kind).snapshotTo(source, dir);
    const ready: SnapshotRecord = { ...record, phase: 'ready' };
    await deps.snapshots.put(ready);
    log.info({ snapshotId: record.id, sourceVolumeId: source.id, ms: Date.now() - started }, 'snapshot created');
    return ready;
  } catch (err) {
    // The copy's own error is what the caller must see; a failed rename only leaves a directory start-up logs.
    await deps.trash.setAside(dir).catch((e: unknown) => log.error({ err: e, snapshotId: record.id, dir }, 'could not set aside the data of a failed snapshot'));
    await deps.snapshots.delete(record).catch((e: unknown) => log.error({ err: e, snapshotId: record.id }, 'rollback of failed snapshot left a record behind'));
    throw err;
  }
}

/** CSI spec, DeleteSnapshot: what does not exist counts as deleted; a group member goes only with its group. */
export async function deleteSnapshot(deps: SnapshotDeps, snapshotId: string, log: Logger): Promise<void> {
  deps.snapshots.refuseIfQuarantined(snapshotId);
  const snap = deps.snapshots.get(snapshotId);
  if (!snap) return;
  await deps.locks.with([snapshotLockKey(snap.id), snapshotNameLockKey(snap.name)], `snapshot ${snap.id}`, async () => {
    if (snap.groupId !== null && deps.snapshots.getGroup(snap.groupId)) {
      throw new FailedPreconditionError(`snapshot ${snap.id} belongs to group snapshot ${snap.groupId}; delete the group`);
    }
    await finishSnapshotDelete(deps, snap, log);
  });
}

/**
 * phase deleting, then data, then the record: a crash at any point is finished at start-up. The data is set aside
 * (renamed into the trash) and removed in the background: a copy still running into a half-made snapshot after a
 * crash must not make this (and so start-up) fail.
 */
export async function finishSnapshotDelete(deps: SnapshotDeps, snap: SnapshotRecord, log: Logger): Promise<void> {
  if (snap.phase !== 'deleting') await deps.snapshots.put({ ...snap, phase: 'deleting' }, { freeing: true });
  await deps.trash.setAside(deps.layout.snapshotDataDir(snap.id));
  await deps.snapshots.delete(snap);
  log.info({ snapshotId: snap.id }, 'snapshot deleted');
}

export function requireReadySnapshot(deps: SnapshotDeps, snapshotId: string): SnapshotRecord {
  deps.snapshots.refuseIfQuarantined(snapshotId);
  const snap = deps.snapshots.get(snapshotId);
  if (!snap || snap.phase === 'deleting') throw new NotFoundError(`snapshot ${snapshotId} does not exist`);
  return snap;
}
