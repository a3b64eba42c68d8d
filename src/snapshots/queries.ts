import { pageAfter } from '../validate/token';
import type { ControllerDeps } from '../volumes/controller-deps';
import type { SnapshotRecord } from './model';

export interface SnapshotFilter {
  snapshotId: string;
  sourceVolumeId: string;
}

export interface SnapshotPage {
  entries: SnapshotRecord[];
  nextToken: string;
}

function candidates(deps: ControllerDeps, filter: SnapshotFilter): SnapshotRecord[] {
  if (filter.snapshotId !== '') {
    const snap = deps.snapshots.get(filter.snapshotId);
    const matches = snap && (filter.sourceVolumeId === '' || snap.sourceVolumeId === filter.sourceVolumeId);
    return matches ? [snap] : [];
  }
  if (filter.sourceVolumeId !== '') return deps.snapshots.ofSource(filter.sourceVolumeId);
  return [...deps.snapshots.snapshots.values()];
}

/** CSI spec, ListSnapshots: by ID, by source volume (every match), or all; an unknown ID is an empty list. */
export function listSnapshots(deps: ControllerDeps, filter: SnapshotFilter, maxEntries: number, startingToken: string): SnapshotPage {
  const ready = candidates(deps, filter).filter((s) => s.phase === 'ready');
  const page = pageAfter(ready.map((s) => s.id).sort(), maxEntries, startingToken);
  return { entries: page.keys.map((id) => deps.snapshots.get(id)!), nextToken: page.nextToken };
}
