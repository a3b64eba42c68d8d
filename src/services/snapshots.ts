import type { Config } from '../config';
import { ResourceExhaustedError } from '../errors';
import type { ControllerHandlers } from '../generated/csi/v1/Controller';
import type { Snapshot } from '../generated/csi/v1/Snapshot';
import type { Timestamp } from '../generated/google/protobuf/Timestamp';
import { pluginHealthCapabilities } from '../health/advertise';
import { unary, type AdapterContext } from '../grpc/unary';
import { createSnapshot, deleteSnapshot, requireReadySnapshot } from '../snapshots/lifecycle';
import type { SnapshotRecord } from '../snapshots/model';
import { listSnapshots } from '../snapshots/queries';
import { validateObjectId } from '../validate/fields';
import { parseCreateSnapshot } from '../validate/snapshot-requests';
import { parseMaxEntries } from '../domain/paging';
import type { SnapshotDeps } from '../snapshots/catalog';
import { nodeTopology, requirementAllowsNode } from '../volumes/topology';

export function toTimestamp(iso: string): Timestamp {
  const ms = Date.parse(iso);
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
}

/**
 * CSI v1.13 Snapshot.accessible_topology: a snapshot's data lies on the disk of the node whose controller took it,
 * so it is usable from that node only. The spec lets only a plugin advertising SNAPSHOT_ACCESSIBILITY_CONSTRAINTS
 * return it, so it is left out (null) with --csi-health-api=1.12.
 */
export function snapshotTopology(config: Pick<Config, 'csiHealthApi' | 'nodeId'>): string | null {
  return pluginHealthCapabilities(config.csiHealthApi).includes('SNAPSHOT_ACCESSIBILITY_CONSTRAINTS') ? config.nodeId : null;
}

export function toCsiSnapshot(snap: SnapshotRecord, topologyNode: string | null): Snapshot {
  return {
    snapshot_id: snap.id,
    source_volume_id: snap.sourceVolumeId,
    size_bytes: snap.sizeBytes,
    creation_time: toTimestamp(snap.createdAt),
    ready_to_use: snap.phase === 'ready',
    group_snapshot_id: snap.groupId ?? '',
    accessible_topology: topologyNode === null ? [] : [nodeTopology(topologyNode)],
  };
}

type SnapshotHandlers = Pick<ControllerHandlers, 'CreateSnapshot' | 'DeleteSnapshot' | 'ListSnapshots' | 'GetSnapshot'>;

export function snapshotHandlers(ctx: AdapterContext, deps: SnapshotDeps): SnapshotHandlers {
  return {
    CreateSnapshot: unary(ctx, 'CreateSnapshot', async (req, log) => {
      const cmd = parseCreateSnapshot(req);
      // CSI v1.13 CreateSnapshotRequest.accessibility_requirements: the snapshot MUST be usable from a requisite
      // topology, and it lives on this node's disk only; as CreateVolume, a node-local shortcoming.
      if (!requirementAllowsNode(req.accessibility_requirements, deps.config.nodeId)) {
        throw new ResourceExhaustedError(`no requisite topology includes this node (${deps.config.nodeId}), where the snapshot would live`);
      }
      return { snapshot: toCsiSnapshot(await createSnapshot(deps, cmd, log), snapshotTopology(deps.config)) };
    }),
    DeleteSnapshot: unary(ctx, 'DeleteSnapshot', async (req, log) => {
      await deleteSnapshot(deps, validateObjectId('snapshot_id', req.snapshot_id), log);
      return {};
    }),
    ListSnapshots: unary(ctx, 'ListSnapshots', async (req) => {
      const filter = { snapshotId: req.snapshot_id, sourceVolumeId: req.source_volume_id };
      const page = listSnapshots(deps, filter, parseMaxEntries('max_entries', req.max_entries), req.starting_token);
      return { entries: page.entries.map((s) => ({ snapshot: toCsiSnapshot(s, snapshotTopology(deps.config)) })), next_token: page.nextToken };
    }),
    GetSnapshot: unary(ctx, 'GetSnapshot', async (req) => {
      return { snapshot: toCsiSnapshot(requireReadySnapshot(deps, validateObjectId('snapshot_id', req.snapshot_id)), snapshotTopology(deps.config)) };
    }),
  };
}
