/**
 * The one place that maps a volume kind to its code. Adding a kind is a folder under src/kinds/ plus a line here;
 * nothing else in the driver branches on the kind (an architecture test checks it).
 */
import { nodeStateOnSharedHost } from '../contract';
import type { NodeKindHalf } from '../node/node-kind';
import type { Host } from '../os/host';
import type { VolumeBackend } from '../volumes/backend';
import type { KindHealthChecks } from '../volumes/health-checks';
import type { StateLayout } from '../volumes/layout';
import type { VolumeKind } from '../volumes/model';
import { BlockBackend } from './block/controller';
import { blockHealth } from './block/health';
import { blockNode } from './block/node';
import { DirBackend } from './dir/controller';
import { dirHealth } from './dir/health';
import { directoryNode } from './dir/node';
import { ImageBackend } from './image/controller';
import { imageHealth } from './image/health';
import { imageNode } from './image/node';
import { QuotaBackend } from './quota/controller';
import { quotaHealth } from './quota/health';
import { quotaNode } from './quota/node';

/** A kind's two halves: the controller's (create, delete, expand, snapshot, usage) and the node's (stage, grow). */
export interface KindSlice {
  readonly controller: VolumeBackend;
  readonly node: NodeKindHalf;
  /** Its volume health checks (CSI v1.13): the controller's view of its data, the node's of its staging. */
  readonly health: KindHealthChecks;
}

/**
 * Every kind's health checks. Needs no host, so the offline CLI (src/cli/listings.ts) runs the controller's storage
 * checks from here too.
 */
export const KIND_HEALTH: ReadonlyMap<VolumeKind, KindHealthChecks> = new Map<VolumeKind, KindHealthChecks>([
  ['dir', dirHealth],
  ['block', blockHealth],
  ['quota', quotaHealth],
  ['image', imageHealth],
]);

/** Every kind over one host; the quota kind is also returned by type (start-up sets its support, adopts its IDs). */
export function buildKinds(layout: StateLayout, host: Host, volumeRoots: ReadonlyMap<string, string> = new Map()): { slices: ReadonlyMap<VolumeKind, KindSlice>; quota: QuotaBackend } {
  // What the controller halves may do to the node's loop devices and mounts (src/contract.ts).
  const nodeState = nodeStateOnSharedHost(host);
  const quota = new QuotaBackend(layout, host.fs, host.statFs, host.copier, host.projectQuotas);
  const slices = new Map<VolumeKind, KindSlice>([
    ['dir', { controller: new DirBackend(layout, host.fs, host.statFs, host.copier, volumeRoots), node: directoryNode, health: dirHealth }],
    ['block', { controller: new BlockBackend(layout, host.fs, nodeState, host.copier), node: blockNode, health: blockHealth }],
    ['quota', { controller: quota, node: quotaNode, health: quotaHealth }],
    ['image', { controller: new ImageBackend(layout, host.fs, nodeState, host.copier, host.filesystems, host.statFs), node: imageNode, health: imageHealth }],
  ]);
  return { slices, quota };
}
