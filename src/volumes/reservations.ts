import { backendFor, type ControllerDeps } from './controller-deps';

/**
 * Bytes promised to existing volumes (quota limits, sparse images) that they do not use yet: the host filesystem
 * shows them as free, but a volume may fill them at any time, so GetCapacity must not offer them again. A volume
 * whose usage cannot be read counts as wholly unused: GetCapacity may understate free space then, never overstate it.
 */
export async function reservedBytes(deps: Pick<ControllerDeps, 'catalog' | 'backends'>): Promise<bigint> {
  const volumes = [...deps.catalog.volumes.values()].filter((v) => v.phase !== 'deleting');
  const each = await Promise.all(volumes.map((v) => backendFor(deps, v.kind).unusedReservation(v).catch(() => BigInt(v.capacityBytes))));
  return each.reduce((a, b) => a + b, 0n);
}
