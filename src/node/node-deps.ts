import type { ControllerStateForNode, ExpandOnController } from '../contract';
import type { HealthProbe } from '../os/health-probe';
import type { Config } from '../config';
import { AbortedError, FailedPreconditionError, InternalError, NotFoundError } from '../errors';
import type { DeviceOf } from '../os/device';
import type { Filesystems } from '../os/filesystem';
import type { StatFs } from '../os/fs-stats';
import type { HostFs } from '../os/host-fs';
import type { LoopDevices } from '../os/loop';
import type { Mounter } from '../os/mount';
import type { KeyedLocks } from '../state/locks';
import { quarantinedError, type RecordStore } from '../state/record-store';
import type { VolumeBackend } from '../volumes/backend';
import type { KindHealthChecks } from '../volumes/health-checks';
import type { StateLayout } from '../volumes/layout';
import type { InlineKindHalf, NodeKindHalf } from './node-kind';
import { isStaticVolumeId, stagedStaticVolume } from '../volumes/static';
import type { NodeVolumeRecord, VolumeKind, VolumeRecord } from '../volumes/model';

export interface NodeDeps {
  readonly config: Config;
  readonly layout: StateLayout;
  readonly mounter: Mounter;
  readonly loops: LoopDevices;
  readonly statFs: StatFs;
  /** The host filesystem (src/os/host-fs.ts). */
  readonly fs: HostFs;
  readonly deviceOf: DeviceOf;
  readonly locks: KeyedLocks;
  readonly nodeRecords: RecordStore<NodeVolumeRecord>;
  readonly backends: ReadonlyMap<VolumeKind, VolumeBackend>;
  /** Each kind's health checks, from the registry (src/kinds/<kind>/health.ts). */
  readonly healthChecks: ReadonlyMap<VolumeKind, KindHealthChecks>;
  /** Each kind's node half (src/kinds/<kind>/node.ts), from the registry (src/kinds/registry.ts). */
  readonly nodeKinds: ReadonlyMap<VolumeKind, NodeKindHalf>;
  readonly filesystems: Filesystems;
  /** What the health checks read from the host (src/volumes/health.ts, src/node/health.ts). */
  readonly healthProbe: HealthProbe;
  /**
   * Set when expansion is node-driven (--controller-expansion=false): grows a volume's storage and its record, under
   * the volume's controller lock, as ControllerExpandVolume would (src/volumes/lifecycle.ts expandVolume).
   */
  readonly growVolume: ExpandOnController | null;
  /** The only way the node reads the controller's records (src/contract.ts). */
  readonly controllerState: ControllerStateForNode;
}

export const nodeVolumeLockKey = (id: string): string => `node-volume:${id}`;

export { backendFor } from '../volumes/backend';

export function nodeKindOf(deps: Pick<NodeDeps, 'nodeKinds'>, kind: VolumeKind): NodeKindHalf {
  const half = deps.nodeKinds.get(kind);
  if (!half) throw new InternalError(`no node half for volume kind ${kind}`);
  return half;
}

/** An inline volume with `sizeLimit: image`: its record names the filesystem of its image. */
export const isInlineImage = (record: NodeVolumeRecord | undefined): boolean => record?.ephemeral?.fsType !== undefined;

/** The image kind's steps for inline volumes (src/kinds/image/inline.ts), through the registry. */
export function inlineImageHalf(deps: Pick<NodeDeps, 'nodeKinds'>): InlineKindHalf {
  const half = nodeKindOf(deps, 'image').inline;
  if (!half) throw new InternalError('the image kind has no inline half');
  return half;
}

/**
 * Reads the controller's record of a volume straight from disk: the node may run in another process that shares
 * the state directory, so it must not trust an in-memory copy.
 */
export async function loadVolume(deps: NodeDeps, volumeId: string): Promise<VolumeRecord> {
  if (isStaticVolumeId(volumeId)) {
    const staged = stagedStaticVolume(deps.nodeRecords.get(volumeId), deps.config.nodeId);
    if (!staged) throw new NotFoundError(`static volume ${volumeId} is not staged on this node`);
    return staged;
  }
  let vol: VolumeRecord | null;
  try {
    vol = await deps.controllerState.volumeRecord(volumeId);
  } catch (err) {
    // A read that failed (EIO, EACCES, ...) says nothing about the record: retrying may work, and the record may be
    // fine. Only a record that was read and does not parse is a damaged record (FAILED_PRECONDITION).
    const errno = (err as NodeJS.ErrnoException).code;
    if (typeof errno === 'string') throw new InternalError(`reading the state record of volume ${volumeId} failed: ${errno}`);
    throw new FailedPreconditionError(`volume ${volumeId} has an unreadable state record: ${(err as Error).message}`);
  }
  if (!vol) {
    const movedTo = await deps.controllerState.quarantinedVolumeRecord(volumeId);
    if (movedTo !== null) throw quarantinedError('volume', volumeId, movedTo);
  }
  if (!vol || vol.phase === 'deleting') throw new NotFoundError(`volume ${volumeId} does not exist`);
  if (vol.phase === 'creating') throw new AbortedError(`volume ${volumeId} is still being created`);
  if (vol.nodeId !== deps.config.nodeId) throw new NotFoundError(`volume ${volumeId} lives on node ${vol.nodeId}, not this one`);
  return vol;
}
