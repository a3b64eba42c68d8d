import { AbortedError, AlreadyExistsError, InvalidArgumentError, NotFoundError } from '../errors';
import type { Logger } from '../log';
import { groupLockKey, groupNameLockKey, snapshotLockKey, volumeLockKey } from '../volumes/controller-deps';
import { requireReadyVolume } from '../volumes/lifecycle';
import { finishSnapshotDelete, takeSnapshot } from './lifecycle';
import type { GroupSnapshotRecord, SnapshotRecord } from './model';
import type { CreateGroupCommand } from '../domain/commands';
import type { SnapshotDeps } from './catalog';

export type { CreateGroupCommand } from '../domain/commands';


export interface GroupView {
  group: GroupSnapshotRecord;
  members: SnapshotRecord[];
}

function view(deps: SnapshotDeps, group: GroupSnapshotRecord): GroupView {
  return { group, members: group.snapshotIds.map((id) => deps.snapshots.get(id)).filter((s): s is SnapshotRecord => s !== undefined) };
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * CSI spec, CreateVolumeGroupSnapshot: one snapshot per source volume, all sharing the group's ID and one creation
 * time. Idempotent by name with the same set of volumes (in any order); another set is ALREADY_EXISTS.
 */
export async function createGroupSnapshot(deps: SnapshotDeps, cmd: CreateGroupCommand, log: Logger): Promise<GroupView> {
  const sources = [...new Set(cmd.sourceVolumeIds)].sort();
  const keys = [groupNameLockKey(cmd.name), ...sources.map(volumeLockKey)];
  return deps.locks.with(keys, `group snapshot ${JSON.stringify(cmd.name)} or one of its volumes`, async () => {
    const existing = deps.snapshots.getGroupByName(cmd.name);
    if (existing) {
      if (!sameSet(existing.sourceVolumeIds, sources)) throw new AlreadyExistsError(`group snapshot ${JSON.stringify(cmd.name)} exists for other volumes`);
      if (existing.phase !== 'ready') throw new AbortedError(`group snapshot ${existing.id} is not ready`);
      return view(deps, existing);
    }
    const volumes = sources.map((id) => requireReadyVolume(deps, id));
    const createdAt = deps.now();
    const group: GroupSnapshotRecord = {
      id: deps.newId(),
      name: cmd.name,
      sourceVolumeIds: sources,
      snapshotIds: [],
      parameters: cmd.parameters,
      phase: 'creating',
      createdAt: createdAt.toISOString(),
    };
    await deps.snapshots.putGroup(group);
    const members: SnapshotRecord[] = [];
    try {
      for (const vol of volumes) {
        const opts = { name: `${group.id}/${vol.id}`, parameters: cmd.parameters, groupId: group.id, createdAt };
        members.push(await takeSnapshot(deps, vol, opts, log));
      }
      const ready: GroupSnapshotRecord = { ...group, snapshotIds: members.map((m) => m.id), phase: 'ready' };
      await deps.snapshots.putGroup(ready);
      log.info({ groupSnapshotId: group.id, members: members.length }, 'group snapshot created');
      return { group: ready, members };
    } catch (err) {
      // The failure the caller must see is `err`; a rollback step that fails too is logged (start-up finishes it).
      const rollbackFailed = (what: string) => (e: unknown) => log.error({ err: e, groupSnapshotId: group.id, what }, 'rollback of a failed group snapshot failed');
      for (const m of members) await finishSnapshotDelete(deps, m, log).catch(rollbackFailed(`member ${m.id}`));
      await deps.snapshots.deleteGroup(group).catch(rollbackFailed('group record'));
      throw err;
    }
  });
}

/** CSI spec: snapshot_ids, when given, must name exactly the group's members (a mismatch is INVALID_ARGUMENT). */
function checkMembers(group: GroupSnapshotRecord, snapshotIds: readonly string[]): void {
  if (snapshotIds.length === 0) return;
  if (!sameSet([...group.snapshotIds].sort(), [...snapshotIds].sort())) {
    throw new InvalidArgumentError(`snapshot_ids do not match the members of group snapshot ${group.id}`);
  }
}

export function getGroupSnapshot(deps: SnapshotDeps, groupId: string, snapshotIds: readonly string[]): GroupView {
  const group = deps.snapshots.getGroup(groupId);
  if (!group || group.phase === 'deleting') throw new NotFoundError(`group snapshot ${groupId} does not exist`);
  checkMembers(group, snapshotIds);
  return view(deps, group);
}

/** CSI spec, DeleteVolumeGroupSnapshot: deletes the group and every member; a missing group is already deleted. */
export async function deleteGroupSnapshot(deps: SnapshotDeps, groupId: string, snapshotIds: readonly string[], log: Logger): Promise<void> {
  const group = deps.snapshots.getGroup(groupId);
  if (!group) return;
  checkMembers(group, snapshotIds);
  const keys = [groupLockKey(group.id), groupNameLockKey(group.name), ...group.snapshotIds.map(snapshotLockKey)];
  await deps.locks.with(keys, `group snapshot ${group.id}`, async () => {
    if (group.phase !== 'deleting') await deps.snapshots.putGroup({ ...group, phase: 'deleting' }, { freeing: true });
    for (const id of group.snapshotIds) {
      const member = deps.snapshots.get(id);
      if (member) await finishSnapshotDelete(deps, member, log);
    }
    await deps.snapshots.deleteGroup(group);
    log.info({ groupSnapshotId: group.id }, 'group snapshot deleted');
  });
}
