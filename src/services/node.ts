import type { Config } from '../config';
import type { NodeGetCapabilitiesResponse } from '../generated/csi/v1/NodeGetCapabilitiesResponse';
import type { NodeGetInfoResponse } from '../generated/csi/v1/NodeGetInfoResponse';
import type { NodeGetVolumeStatsResponse } from '../generated/csi/v1/NodeGetVolumeStatsResponse';
import type { NodeHandlers } from '../generated/csi/v1/Node';
import { nodeHealthCapabilities } from '../health/advertise';
import { unary, type AdapterContext } from '../grpc/unary';
import { nodeHealthHandlers } from './health';
import type { NodeDeps } from '../node/node-deps';
import { publishEphemeral } from '../node/ephemeral';
import { publishVolume, unpublishVolume } from '../node/publish';
import { stageVolume, unstageVolume } from '../node/stage';
import { expandOnNode, volumeStats } from '../node/stats';
import { parseSizeRange } from '../validate/capacity';
import { validateHostPath, validateObjectId } from '../validate/fields';
import { parseNodePublish, parseNodeStage, parseVolumeAndPath } from '../validate/node-requests';
import { nodeTopology } from '../volumes/topology';

type NodeRpc = NodeGetCapabilitiesResponse['capabilities'] extends (infer C)[] | undefined ? C : never;

export function nodeCapabilities(config: Pick<Config, 'csiHealthApi'>): NodeGetCapabilitiesResponse {
  const types = ['STAGE_UNSTAGE_VOLUME', 'GET_VOLUME_STATS', 'EXPAND_VOLUME', ...nodeHealthCapabilities(config.csiHealthApi), 'SINGLE_NODE_MULTI_WRITER'] as const;
  return { capabilities: types.map((type): NodeRpc => ({ rpc: { type } })) };
}

export function nodeInfo(config: Config): NodeGetInfoResponse {
  return {
    node_id: config.nodeId,
    max_volumes_per_node: String(config.maxVolumesPerNode),
    accessible_topology: nodeTopology(config.nodeId),
  };
}

export function nodeHandlers(ctx: AdapterContext, deps: NodeDeps): NodeHandlers {
  return {
    ...nodeHealthHandlers(ctx, deps),
    NodeStageVolume: unary(ctx, 'NodeStageVolume', async (req, log) => {
      await stageVolume(deps, parseNodeStage(req, deps.config), log);
      return {};
    }),
    NodeUnstageVolume: unary(ctx, 'NodeUnstageVolume', async (req, log) => {
      const volumeId = validateObjectId('volume_id', req.volume_id);
      await unstageVolume(deps, volumeId, validateHostPath('staging_target_path', req.staging_target_path, deps.config.allowedPathRoot), log);
      return {};
    }),
    NodePublishVolume: unary(ctx, 'NodePublishVolume', async (req, log) => {
      const parsed = parseNodePublish(req, deps.config);
      if (parsed.kind === 'ephemeral') await publishEphemeral(deps, parsed.cmd, log);
      else await publishVolume(deps, parsed.cmd, log);
      return {};
    }),
    NodeUnpublishVolume: unary(ctx, 'NodeUnpublishVolume', async (req, log) => {
      const volumeId = validateObjectId('volume_id', req.volume_id);
      await unpublishVolume(deps, volumeId, validateHostPath('target_path', req.target_path, deps.config.allowedPathRoot), log);
      return {};
    }),
    NodeGetVolumeStats: unary(ctx, 'NodeGetVolumeStats', async (req): Promise<NodeGetVolumeStatsResponse> => {
      const { volumeId, volumePath } = parseVolumeAndPath(req.volume_id, req.volume_path);
      const { usage, condition } = await volumeStats(deps, volumeId, volumePath);
      if (usage === null) return { usage: [], volume_condition: condition };
      return {
        usage: [
          { unit: 'BYTES', total: usage.totalBytes.toString(), used: usage.usedBytes.toString(), available: usage.availableBytes.toString() },
          ...(usage.totalInodes === null
            ? []
            : [{ unit: 'INODES' as const, total: usage.totalInodes.toString(), used: String(usage.usedInodes), available: String(usage.availableInodes) }]),
        ],
        volume_condition: condition,
      };
    }),
    NodeExpandVolume: unary(ctx, 'NodeExpandVolume', async (req, log) => {
      const { volumeId, volumePath } = parseVolumeAndPath(req.volume_id, req.volume_path);
      const range = parseSizeRange('capacity_range', req.capacity_range);
      return { capacity_bytes: (await expandOnNode(deps, volumeId, volumePath, range, log)).toString() };
    }),
    NodeGetCapabilities: unary(ctx, 'NodeGetCapabilities', async () => nodeCapabilities(deps.config)),
    NodeGetInfo: unary(ctx, 'NodeGetInfo', async () => nodeInfo(deps.config)),
  };
}
