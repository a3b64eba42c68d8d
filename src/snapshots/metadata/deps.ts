import type { Config } from '../../config';
import type { Host } from '../../os/host';
import type { SnapshotDeps } from '../catalog';
import type { MetadataDeps } from './metadata';

/**
 * The SnapshotMetadata service's dependencies, or null when --snapshot-metadata is off or this process has no
 * controller (the snapshot images and records live with the controller). Whether images share extents is probed
 * once, on first use, on the snapshots directory itself.
 */
export function snapshotMetadataDeps(config: Config, controller: SnapshotDeps | null, host: Host): MetadataDeps | null {
  const format = config.snapshotMetadata;
  if (format === 'off' || controller === null) return null;
  let shares: Promise<boolean> | null = null;
  return {
    snapshots: controller.snapshots,
    layout: controller.layout,
    locks: controller.locks,
    maps: host.blockMaps,
    format,
    sharesExtents: () => (shares ??= host.copier.probeReflink(controller.layout.snapshotsDir)),
  };
}
