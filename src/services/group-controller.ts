import type { GroupControllerHandlers } from '../generated/csi/v1/GroupController';
import type { VolumeGroupSnapshot } from '../generated/csi/v1/VolumeGroupSnapshot';
import { unary, type AdapterContext } from '../grpc/unary';
import { createGroupSnapshot, deleteGroupSnapshot, getGroupSnapshot, type GroupView } from '../snapshots/groups';
import { validateObjectId } from '../validate/fields';
import { parseCreateGroup } from '../validate/snapshot-requests';
import { snapshotTopology, toCsiSnapshot, toTimestamp } from './snapshots';
import type { SnapshotDeps } from '../snapshots/catalog';

function toCsiGroup(v: GroupView, topologyNode: string | null): VolumeGroupSnapshot {
  return {
    group_snapshot_id: v.group.id,
    snapshots: v.members.map((m) => toCsiSnapshot(m, topologyNode)),
    creation_time: toTimestamp(v.group.createdAt),
    ready_to_use: v.group.phase === 'ready' && v.members.every((m) => m.phase === 'ready'),
  };
}

/** CSI spec, GroupController service: group snapshots of several volumes sharing one creation time. */
export function groupControllerHandlers(ctx: AdapterContext, deps: SnapshotDeps): GroupControllerHandlers {
  return {
    GroupControllerGetCapabilities: unary(ctx, 'GroupControllerGetCapabilities', async () => ({
      capabilities: [{ rpc: { type: 'CREATE_DELETE_GET_VOLUME_GROUP_SNAPSHOT' } }],
    })),
    CreateVolumeGroupSnapshot: unary(ctx, 'CreateVolumeGroupSnapshot', async (req, log) => ({
      group_snapshot: toCsiGroup(await createGroupSnapshot(deps, parseCreateGroup(req), log), snapshotTopology(deps.config)),
    })),
    GetVolumeGroupSnapshot: unary(ctx, 'GetVolumeGroupSnapshot', async (req) => ({
      group_snapshot: toCsiGroup(getGroupSnapshot(deps, validateObjectId('group_snapshot_id', req.group_snapshot_id), req.snapshot_ids), snapshotTopology(deps.config)),
    })),
    DeleteVolumeGroupSnapshot: unary(ctx, 'DeleteVolumeGroupSnapshot', async (req, log) => {
      await deleteGroupSnapshot(deps, validateObjectId('group_snapshot_id', req.group_snapshot_id), req.snapshot_ids, log);
      return {};
    }),
  };
}
