import type { ControllerHandlers } from '../generated/csi/v1/Controller';
import type { NodeHandlers } from '../generated/csi/v1/Node';
import { controllerFindings, listVolumeHealth, quarantinedFinding } from '../volumes/health';
import { toCsiVolumeHealth } from '../domain/health';
import { nodeVolumeFindings, storageFindings } from '../node/health';
import { unary, type AdapterContext } from '../grpc/unary';
import type { NodeDeps } from '../node/node-deps';
import { validateObjectId } from '../validate/fields';
import { parseMaxEntries } from '../domain/paging';
import type { ControllerDeps } from '../volumes/controller-deps';
import { requireReadyVolume } from '../volumes/lifecycle';

type ControllerHealthHandlers = Pick<ControllerHandlers, 'ControllerGetVolumeHealth' | 'ControllerListVolumeHealth'>;
type NodeHealthHandlers = Pick<NodeHandlers, 'NodeGetVolumeHealth' | 'NodeGetStorageHealth'>;

/** CSI v1.13 controller health RPCs; the checks live in src/volumes/health.ts and src/node/health.ts. */
export function controllerHealthHandlers(ctx: AdapterContext, deps: ControllerDeps): ControllerHealthHandlers {
  return {
    ControllerGetVolumeHealth: unary(ctx, 'ControllerGetVolumeHealth', async (req) => {
      const volumeId = validateObjectId('volume_id', req.volume_id);
      const movedTo = deps.catalog.quarantinedVolume(volumeId);
      const findings = movedTo !== undefined ? [quarantinedFinding(movedTo)] : await controllerFindings(deps, requireReadyVolume(deps, volumeId));
      return { volume_health: toCsiVolumeHealth({ volumeId, findings }) };
    }),
    ControllerListVolumeHealth: unary(ctx, 'ControllerListVolumeHealth', async (req) => {
      const page = await listVolumeHealth(deps, parseMaxEntries('max_entries', req.max_entries), req.starting_token);
      return { entries: page.reports.map(toCsiVolumeHealth), next_token: page.nextToken };
    }),
  };
}

/** CSI v1.13 node health RPCs; the checks live in src/volumes/health.ts and src/node/health.ts. */
export function nodeHealthHandlers(ctx: AdapterContext, deps: NodeDeps): NodeHealthHandlers {
  return {
    NodeGetVolumeHealth: unary(ctx, 'NodeGetVolumeHealth', async (req) => {
      const volumeId = validateObjectId('volume_id', req.volume_id);
      const findings = await nodeVolumeFindings(deps, volumeId, req.volume_publish_path);
      return { volume_health: toCsiVolumeHealth({ volumeId, findings }) };
    }),
    NodeGetStorageHealth: unary(ctx, 'NodeGetStorageHealth', async () => ({ backend_health: await storageFindings(deps) })),
  };
}
