import { FIEMAP_EXTENT_DELALLOC, FIEMAP_EXTENT_UNKNOWN, FIEMAP_EXTENT_UNWRITTEN, type ByteRange, type PhysicalExtent } from '../../os/block-map';

/** Pure range arithmetic for the SnapshotMetadata service: no I/O, so every rule here has a unit test. */

/** CSI BlockMetadataType: FIXED_LENGTH tuples are one block each, VARIABLE_LENGTH tuples are whole extents. */
export type MetadataFormat = 'FIXED_LENGTH' | 'VARIABLE_LENGTH';

export interface Tuple {
  offset: number;
  size: number;
}

/** Sorts, merges overlapping and touching ranges, drops empty ones. */
export function mergeRanges(ranges: readonly ByteRange[]): ByteRange[] {
  const sorted = ranges.filter((r) => r.length > 0).sort((x, y) => x.offset - y.offset);
  const out: ByteRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.offset <= last.offset + last.length) last.length = Math.max(last.length, r.offset + r.length - last.offset);
    else out.push({ ...r });
  }
  return out;
}

/** Widens every range to whole blocks and cuts it at `capacity` (the volume's size), then merges. */
export function alignRanges(ranges: readonly ByteRange[], blockSize: number, capacity: number): ByteRange[] {
  const aligned = ranges.map((r) => {
    const start = Math.floor(r.offset / blockSize) * blockSize;
    const end = Math.min(Math.ceil((r.offset + r.length) / blockSize) * blockSize, capacity);
    return { offset: start, length: Math.max(0, end - start) };
  });
  return mergeRanges(aligned);
}

/** True when every extent's location is known, so equal locations mean shared blocks. */
export function extentsAreDefinite(extents: readonly PhysicalExtent[]): boolean {
  return extents.every((e) => (e.flags & (FIEMAP_EXTENT_UNKNOWN | FIEMAP_EXTENT_DELALLOC)) === 0);
}

interface Mapping {
  start: number;
  end: number;
  /** physical - logical: two files map a byte to the same place exactly when their deltas there are equal. */
  delta: number;
}

function mappings(extents: readonly PhysicalExtent[]): Mapping[] {
  return extents
    .filter((e) => (e.flags & FIEMAP_EXTENT_UNWRITTEN) === 0 && e.length > 0)
    .map((e) => ({ start: e.logical, end: e.logical + e.length, delta: e.physical - e.logical }))
    .sort((x, y) => x.start - y.start);
}

function covering(list: readonly Mapping[], from: number, at: number): { index: number; hit: Mapping | null } {
  let i = from;
  while (i < list.length && list[i]!.end <= at) i++;
  const m = list[i];
  return { index: i, hit: m && m.start <= at ? m : null };
}

/**
 * The ranges where two files' extent maps differ: a byte is unchanged when both map it to the same device location
 * (a reflink clone shares the extent) or neither maps it (a hole, or an unwritten extent: both read zeros).
 */
export function extentDelta(base: readonly PhysicalExtent[], target: readonly PhysicalExtent[]): ByteRange[] {
  const a = mappings(base);
  const b = mappings(target);
  const points = [...new Set([...a, ...b].flatMap((m) => [m.start, m.end]))].sort((x, y) => x - y);
  const out: ByteRange[] = [];
  let ia = 0;
  let ib = 0;
  for (let k = 0; k + 1 < points.length; k++) {
    const p = points[k]!;
    const q = points[k + 1]!;
    const ca = covering(a, ia, p);
    const cb = covering(b, ib, p);
    ia = ca.index;
    ib = cb.index;
    const changed = ca.hit && cb.hit ? ca.hit.delta !== cb.hit.delta : ca.hit !== cb.hit;
    if (changed) out.push({ offset: p, length: q - p });
  }
  return mergeRanges(out);
}

/**
 * The tuples to send, from block-aligned ranges: none that ends at or before `start` (CSI spec, starting_offset:
 * S < B0.byte_offset + B0.size_bytes), the first one beginning at the block that holds `start`.
 */
export function* tuplesOf(ranges: readonly ByteRange[], format: MetadataFormat, blockSize: number, start: number): Generator<Tuple> {
  const first = Math.floor(start / blockSize) * blockSize;
  for (const r of ranges) {
    const end = r.offset + r.length;
    if (end <= first) continue;
    const from = Math.max(r.offset, first);
    if (format === 'VARIABLE_LENGTH') {
      yield { offset: from, size: end - from };
      continue;
    }
    for (let at = from; at < end; at += blockSize) yield { offset: at, size: Math.min(blockSize, end - at) };
  }
}

/** Groups tuples into messages of at most `max` (the request's max_results, already defaulted and capped). */
export function* pagesOf<T>(items: Iterable<T>, max: number): Generator<T[]> {
  let page: T[] = [];
  for (const item of items) {
    page.push(item);
    if (page.length === max) {
      yield page;
      page = [];
    }
  }
  if (page.length > 0) yield page;
}
