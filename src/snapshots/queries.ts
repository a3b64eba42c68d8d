import { decodeToken, encodeToken, pageAfter } from '../domain/paging';
import type { SnapshotRecord } from './model';
import type { SnapshotDeps } from './catalog';

export interface SnapshotFilter {
  snapshotId: string;
  sourceVolumeId: string;
}

export interface SnapshotPage {
  entries: SnapshotRecord[];
  nextToken: string;
}

function candidates(deps: SnapshotDeps, filter: SnapshotFilter): SnapshotRecord[] {
  if (filter.snapshotId !== '') {
    const snap = deps.snapshots.get(filter.snapshotId);
    const matches = snap && (filter.sourceVolumeId === '' || snap.sourceVolumeId === filter.sourceVolumeId);
    return matches ? [snap] : [];
  }
  return deps.snapshots.ofSource(filter.sourceVolumeId);
}

/**
 * CSI spec, ListSnapshots: by ID, by source volume (every match), or all; an unknown ID is an empty list. Listing all
 * pages from the catalog's sorted ID index (O(log N + page)); the filtered lists are small and sorted per call.
 */
export function listSnapshots(deps: SnapshotDeps, filter: SnapshotFilter, maxEntries: number, startingToken: string): SnapshotPage {
  const isReady = (id: string): boolean => deps.snapshots.get(id)?.phase === 'ready';
  if (filter.snapshotId === '' && filter.sourceVolumeId === '') {
    const page = deps.snapshots.idsInOrder.page(decodeToken(startingToken), maxEntries, isReady);
    return { entries: page.keys.map((id) => deps.snapshots.get(id)!), nextToken: page.more ? encodeToken(page.keys[page.keys.length - 1]!) : '' };
  }
  const ready = candidates(deps, filter).filter((s) => s.phase === 'ready');
  const page = pageAfter(ready.map((s) => s.id).sort(), maxEntries, startingToken);
  return { entries: page.keys.map((id) => deps.snapshots.get(id)!), nextToken: page.nextToken };
}
