import { InvalidArgumentError, NotFoundError, OutOfRangeError, UnavailableError } from '../../errors';
import type { Logger } from '../../log';
import type { BlockMaps, ByteRange } from '../../os/block-map';
import type { KeyedLocks } from '../../state/locks';
import { snapshotLockKey } from '../../volumes/controller-deps';
import type { StateLayout } from '../../volumes/layout';
import type { SnapshotCatalog } from '../catalog';
import type { SnapshotRecord } from '../model';
import { alignRanges, extentDelta, extentsAreDefinite, mergeRanges, pagesOf, tuplesOf, type MetadataFormat, type Tuple } from './ranges';

/** Granularity of every answer, and the size of a FIXED_LENGTH tuple: the page size and the usual filesystem block. */
export const METADATA_BLOCK_SIZE = 4096;
/** max_results 0 lets the plugin choose (CSI spec); larger requests are capped so one message stays small. */
export const DEFAULT_MAX_RESULTS = 256;
export const MAX_RESULTS_CAP = 4096;

/** How a delta was computed (logged, and asserted by the integration tests). */
export type DeltaMethod = 'extent-map' | 'block-compare';

export interface MetadataDeps {
  readonly snapshots: SnapshotCatalog;
  readonly layout: StateLayout;
  readonly locks: KeyedLocks;
  readonly maps: BlockMaps;
  readonly format: MetadataFormat;
  /** Whether snapshot images can share extents (reflink): only then does equal location mean unchanged data. */
  readonly sharesExtents: () => Promise<boolean>;
}

export interface MetadataAnswer {
  readonly format: MetadataFormat;
  readonly capacityBytes: number;
  /** Messages of tuples, computed lazily from the ranges as the stream is written. */
  readonly pages: Iterable<Tuple[]>;
}

export interface Window {
  startingOffset: string;
  maxResults: number;
}

/** CSI spec, GetMetadataAllocated / GetMetadataDelta errors: the snapshot must exist, be ready and be of a block volume. */
function readySnapshot(deps: MetadataDeps, id: string, field: string): SnapshotRecord {
  if (id === '') throw new InvalidArgumentError(`${field} is required`);
  deps.snapshots.refuseIfQuarantined(id);
  const snap = deps.snapshots.get(id);
  if (!snap || snap.phase === 'deleting') throw new NotFoundError(`snapshot ${id} does not exist`);
  if (snap.phase !== 'ready') throw new UnavailableError(`snapshot ${id} is not ready yet`);
  if (snap.accessType !== 'block') throw new InvalidArgumentError(`snapshot ${id} is not of a block volume: changed-block metadata exists only for block volumes`);
  return snap;
}

/** starting_offset past the volume's end is OUT_OF_RANGE (CSI spec); max_results below zero is INVALID_ARGUMENT. */
function checkWindow(window: Window, capacity: number): { start: number; max: number } {
  if (!/^-?\d+$/.test(window.startingOffset)) throw new InvalidArgumentError('starting_offset must be an integer');
  const start = Number(window.startingOffset);
  if (start < 0 || start >= capacity) throw new OutOfRangeError(`starting_offset ${window.startingOffset} is outside the volume (capacity ${capacity} bytes)`);
  if (window.maxResults < 0) throw new InvalidArgumentError('max_results must not be negative');
  return { start, max: window.maxResults === 0 ? DEFAULT_MAX_RESULTS : Math.min(window.maxResults, MAX_RESULTS_CAP) };
}

function imageOf(deps: MetadataDeps, snap: SnapshotRecord): string {
  return deps.layout.snapshotImageFile(snap.id);
}

function answer(deps: MetadataDeps, ranges: ByteRange[], capacity: number, window: Window): MetadataAnswer {
  const { start, max } = checkWindow(window, capacity);
  const aligned = alignRanges(ranges, METADATA_BLOCK_SIZE, capacity);
  return { format: deps.format, capacityBytes: capacity, pages: pagesOf(tuplesOf(aligned, deps.format, METADATA_BLOCK_SIZE, start), max) };
}

/** Allocated ranges of one snapshot image: its data ranges (SEEK_DATA / SEEK_HOLE); holes were never written. */
export async function metadataAllocated(deps: MetadataDeps, snapshotId: string, window: Window, log: Logger): Promise<MetadataAnswer> {
  const snap = readySnapshot(deps, snapshotId, 'snapshot_id');
  const capacity = Number(snap.sizeBytes);
  checkWindow(window, capacity);
  // The snapshot lock keeps DeleteSnapshot (ABORTED, retried) from moving the image away while it is read.
  const ranges = await deps.locks.with([snapshotLockKey(snap.id)], `snapshot ${snap.id}`, () => deps.maps.dataRanges(imageOf(deps, snap)));
  log.debug({ ranges: ranges.length }, 'allocated ranges read');
  return answer(deps, ranges, capacity, window);
}

/**
 * Changed ranges between two snapshots of one volume. Where snapshots are reflink clones (XFS with reflink, btrfs),
 * the two extent maps say it without reading data: a block still at the same device location in both was not
 * rewritten. Where the filesystem copies (ext4) or an extent's location is not known, the data ranges of both images
 * are compared block by block instead (reading only where either image holds data, one chunk at a time).
 */
export async function metadataDelta(
  deps: MetadataDeps,
  baseId: string,
  targetId: string,
  window: Window,
  log: Logger,
  signal?: AbortSignal,
): Promise<MetadataAnswer> {
  const base = readySnapshot(deps, baseId, 'base_snapshot_id');
  const target = readySnapshot(deps, targetId, 'target_snapshot_id');
  if (base.sourceVolumeId !== target.sourceVolumeId) {
    throw new InvalidArgumentError(`snapshots ${base.id} and ${target.id} are of different volumes (${base.sourceVolumeId}, ${target.sourceVolumeId})`);
  }
  const capacity = Number(target.sizeBytes);
  checkWindow(window, capacity);
  const keys = [snapshotLockKey(base.id), snapshotLockKey(target.id)];
  const { ranges, method } = await deps.locks.with(keys, `snapshots ${base.id}, ${target.id}`, () =>
    changedRanges(deps, imageOf(deps, base), imageOf(deps, target), signal),
  );
  log.info({ deltaMethod: method, ranges: ranges.length }, 'snapshot delta computed');
  return answer(deps, ranges, capacity, window);
}

/** `signal`: the client cancelled; the block compare stops at its next chunk (the lock is then released). */
async function changedRanges(deps: MetadataDeps, base: string, target: string, signal?: AbortSignal): Promise<{ ranges: ByteRange[]; method: DeltaMethod }> {
  if (await deps.sharesExtents()) {
    const [a, b] = await Promise.all([deps.maps.extents(base), deps.maps.extents(target)]);
    if (extentsAreDefinite(a) && extentsAreDefinite(b)) return { ranges: extentDelta(a, b), method: 'extent-map' };
  }
  const [da, db] = await Promise.all([deps.maps.dataRanges(base), deps.maps.dataRanges(target)]);
  const within = alignRanges(mergeRanges([...da, ...db]), METADATA_BLOCK_SIZE, Number.MAX_SAFE_INTEGER);
  return { ranges: await deps.maps.differingRanges(base, target, within, METADATA_BLOCK_SIZE, signal), method: 'block-compare' };
}
