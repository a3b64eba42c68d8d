import { NotFoundError } from '../errors';
import { toCondition } from '../domain/health';
import { nodeVolumeFindings } from './health';
import { hostPathProblem } from '../validate/fields';
import type { VolumeCondition, VolumeUsage } from '../volumes/backend';
import type { NodeVolumeRecord, VolumeRecord } from '../volumes/model';
import { ephemeralStats } from './ephemeral';
import { mountStateAt } from './mounts';
import type { Logger } from '../log';
import type { SizeRange } from '../domain/size-range';
import { backendFor, loadVolume, nodeKindOf, nodeVolumeLockKey, type NodeDeps } from './node-deps';

/**
 * The volume must be mounted at `volumePath` (a target or the staging path). A path that is malformed or holds
 * something else is NOT_FOUND, as the CSI spec's NodeGetVolumeStats and NodeExpandVolume error tables say.
 */
async function volumeMountedAt(deps: NodeDeps, volumeId: string, volumePath: string): Promise<VolumeRecord> {
  const vol = await loadVolume(deps, volumeId);
  const problem = hostPathProblem(volumePath, deps.config.allowedPathRoot);
  if (problem) throw new NotFoundError(`volume_path ${problem}`);
  if ((await mountStateAt(deps, volumePath.replace(/\/+$/, ''), volumeId)) !== 'ours') {
    throw new NotFoundError(`volume ${volumeId} is not mounted at ${volumePath}`);
  }
  return vol;
}

/** An inline volume's node record, when `volumePath` shows it; inline volumes have no controller record. */
async function inlineMountedAt(deps: NodeDeps, volumeId: string, volumePath: string): Promise<NodeVolumeRecord | null> {
  const record = deps.nodeRecords.get(volumeId);
  if (!record?.ephemeral) return null;
  if (hostPathProblem(volumePath, deps.config.allowedPathRoot) || (await mountStateAt(deps, volumePath.replace(/\/+$/, ''), volumeId)) !== 'ours') {
    throw new NotFoundError(`inline volume ${volumeId} is not mounted at ${volumePath}`);
  }
  return record;
}

export interface VolumeStats {
  /** null: the volume is abnormal and its storage could not be measured. */
  usage: VolumeUsage | null;
  condition: VolumeCondition;
}

export async function volumeStats(deps: NodeDeps, volumeId: string, volumePath: string): Promise<VolumeStats> {
  const inline = await inlineMountedAt(deps, volumeId, volumePath);
  if (inline) return ephemeralStats(deps, inline, volumePath.replace(/\/+$/, ''));
  const vol = await volumeMountedAt(deps, volumeId, volumePath);
  const backend = backendFor(deps, vol.kind);
  // The v1.12 VolumeCondition of NodeGetVolumeStats is the node's v1.13 health findings folded into one flag.
  // A volume whose storage is gone (directory removed) cannot be measured. Failing the call would hide the finding:
  // kubelet (CSIVolumeHealth) reads volume_condition only from a successful answer, and the CSI spec makes usage
  // OPTIONAL. So an abnormal volume answers without usage; a healthy one that cannot be measured still fails.
  // Both are measured at once, as before: the usage walk of a large dir volume is the slow half.
  const [measured, findings] = await Promise.all([
    backend.usage(vol, volumePath.replace(/\/+$/, '')).then((usage) => ({ usage }), (err: unknown) => ({ err })),
    nodeVolumeFindings(deps, volumeId, volumePath),
  ]);
  if ('err' in measured && findings.length === 0) throw measured.err;
  return { usage: 'usage' in measured ? measured.usage : null, condition: toCondition(findings, 'volume is healthy') };
}

/**
 * CSI spec, NodeExpandVolume. With controller expansion the controller has grown the storage already; with
 * node-driven expansion (growVolume set) the node grows it and the record here, under the volume's controller lock.
 * Then the kind grows what lives on the node (an image's filesystem, online); other kinds have nothing to grow.
 * The answer is the capacity the record now holds.
 */
export async function expandOnNode(deps: NodeDeps, volumeId: string, volumePath: string, range: SizeRange, log: Logger): Promise<bigint> {
  const inline = await inlineMountedAt(deps, volumeId, volumePath);
  if (inline) return BigInt(inline.ephemeral!.capacityBytes);
  return deps.locks.with([nodeVolumeLockKey(volumeId)], `volume ${volumeId}`, async () => {
    let vol = await volumeMountedAt(deps, volumeId, volumePath);
    if (deps.growVolume && (range.required > 0n || range.limit > 0n)) {
      await deps.growVolume(volumeId, range, log);
      vol = await loadVolume(deps, volumeId);
    }
    await nodeKindOf(deps, vol.kind).grow?.(deps, vol, deps.nodeRecords.get(vol.id)?.stagingPath ?? volumePath.replace(/\/+$/, ''), log);
    return BigInt(vol.capacityBytes);
  });
}
