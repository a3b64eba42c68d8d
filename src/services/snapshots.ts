import type { ControllerHandlers } from '../generated/csi/v1/Controller';
import type { Snapshot } from '../generated/csi/v1/Snapshot';
import type { Timestamp } from '../generated/google/protobuf/Timestamp';
import { unary, type AdapterContext } from '../grpc/unary';
import { createSnapshot, deleteSnapshot, requireReadySnapshot } from '../snapshots/lifecycle';
import type { SnapshotRecord } from '../snapshots/model';
import { listSnapshots } from '../snapshots/queries';
import { validateObjectId } from '../validate/fields';
import { parseCreateSnapshot } from '../validate/snapshot-requests';
import { parseMaxEntries } from '../domain/paging';
import type { SnapshotDeps } from '../snapshots/catalog';

export function toTimestamp(iso: string): Timestamp {
  const ms = Date.parse(iso);
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
}

export function toCsiSnapshot(snap: SnapshotRecord): Snapshot {
  return {
    snapshot_id: snap.id,
    source_volume_id: snap.sourceVolumeId,
    size_bytes: snap.sizeBytes,
    creation_time: toTimestamp(snap.createdAt),
    ready_to_use: snap.phase === 'ready',
    group_snapshot_id: snap.groupId ?? '',
  };
}

type SnapshotHandlers = Pick<ControllerHandlers, 'CreateSnapshot' | 'DeleteSnapshot' | 'ListSnapshots' | 'GetSnapshot'>;

export function snapshotHandlers(ctx: AdapterContext, deps: SnapshotDeps): SnapshotHandlers {
  return {
    CreateSnapshot: unary(ctx, 'CreateSnapshot', async (req, log) => {
      return { snapshot: toCsiSnapshot(await createSnapshot(deps, parseCreateSnapshot(req), log)) };
    }),
    DeleteSnapshot: unary(ctx, 'DeleteSnapshot', async (req, log) => {
      await deleteSnapshot(deps, validateObjectId('snapshot_id', req.snapshot_id), log);
      return {};
    }),
    ListSnapshots: unary(ctx, 'ListSnapshots', async (req) => {
      const filter = { snapshotId: req.snapshot_id, sourceVolumeId: req.source_volume_id };
      const page = listSnapshots(deps, filter, parseMaxEntries('max_entries', req.max_entries), req.starting_token);
      return { entries: page.entries.map((s) => ({ snapshot: toCsiSnapshot(s) })), next_token: page.nextToken };
    }),
    GetSnapshot: unary(ctx, 'GetSnapshot', async (req) => {
      return { snapshot: toCsiSnapshot(requireReadySnapshot(deps, validateObjectId('snapshot_id', req.snapshot_id))) };
    }),
  };
}
