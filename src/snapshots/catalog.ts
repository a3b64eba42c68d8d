import type { Logger } from '../log';
import type { DirSyncer } from '../state/dir-sync';
import { salvageName } from '../state/entries';
import { quarantinedError, RecordStore } from '../state/record-store';
import type { SpaceReserve } from '../state/space-reserve';
import { SortedKeys } from '../state/sorted-keys';
import type { ControllerDeps } from '../volumes/controller-deps';
import type { StateLayout } from '../volumes/layout';
import { parseGroupSnapshotRecord, parseSnapshotRecord, type GroupSnapshotRecord, type SnapshotRecord } from './model';

/** Every snapshot and group snapshot: durable records plus name and source-volume indexes. */
export class SnapshotCatalog {
  readonly snapshots: RecordStore<SnapshotRecord>;
  readonly groups: RecordStore<GroupSnapshotRecord>;
  private readonly byName = new Map<string, string>();
  private readonly groupByName = new Map<string, string>();
  /** Names still readable in quarantined snapshot records: taken, so CreateSnapshot cannot make a second one. */
  private readonly quarantinedByName = new Map<string, string>();
  private readonly bySource = new Map<string, Set<string>>();
  /** Every snapshot ID in order: ListSnapshots pages from here instead of sorting all IDs per call. */
  readonly idsInOrder = new SortedKeys();

  constructor(layout: StateLayout, syncer: DirSyncer, reserve: SpaceReserve | null = null) {
    this.snapshots = new RecordStore(layout.snapshotRecordsDir, layout.quarantineDir, parseSnapshotRecord, syncer, undefined, reserve);
    this.groups = new RecordStore(layout.groupSnapshotRecordsDir, layout.quarantineDir, parseGroupSnapshotRecord, syncer, undefined, reserve);
  }

  async load(log: Logger): Promise<void> {
    const s = await this.snapshots.load(log);
    const g = await this.groups.load(log);
    for (const snap of this.snapshots.values()) this.index(snap);
    for (const group of this.groups.values()) this.groupByName.set(group.name, group.id);
    for (const [id, movedTo] of this.snapshots.quarantined) {
      const name = await salvageName(movedTo);
      if (name !== null) this.quarantinedByName.set(name, id);
    }
    log.info({ snapshots: s.loaded, groupSnapshots: g.loaded, quarantined: s.quarantined.length + g.quarantined.length }, 'snapshot state loaded');
  }

  /** Where the unreadable record of this snapshot was moved at start-up, if it was. */
  quarantinedSnapshot(id: string): string | undefined {
    return this.snapshots.quarantined.get(id);
  }

  /** The quarantined snapshot that held this name, if its damaged record still shows it. */
  quarantinedSnapshotNamed(name: string): string | undefined {
    return this.quarantinedByName.get(name);
  }

  /** As for volumes: a snapshot whose record was unreadable keeps its data and answers FAILED_PRECONDITION. */
  refuseIfQuarantined(id: string): void {
    const movedTo = this.quarantinedSnapshot(id);
    if (movedTo !== undefined) throw quarantinedError('snapshot', id, movedTo);
  }

  get(id: string): SnapshotRecord | undefined {
    return this.snapshots.get(id);
  }

  getByName(name: string): SnapshotRecord | undefined {
    const id = this.byName.get(name);
    return id === undefined ? undefined : this.snapshots.get(id);
  }

  /** Every snapshot of a volume (all of them, not just the first: a defect of the upstream driver). */
  ofSource(volumeId: string): SnapshotRecord[] {
    return [...(this.bySource.get(volumeId) ?? [])].map((id) => this.snapshots.get(id)!).filter(Boolean);
  }

  /** `freeing`: see RecordStore.put (a delete in progress may spend the space reserve). */
  async put(snap: SnapshotRecord, opts: { freeing?: boolean } = {}): Promise<void> {
    await this.snapshots.put(snap, opts);
    this.index(snap);
  }

  async delete(snap: SnapshotRecord): Promise<void> {
    await this.snapshots.delete(snap.id);
    if (this.byName.get(snap.name) === snap.id) this.byName.delete(snap.name);
    this.bySource.get(snap.sourceVolumeId)?.delete(snap.id);
    this.idsInOrder.delete(snap.id);
  }

  getGroup(id: string): GroupSnapshotRecord | undefined {
    return this.groups.get(id);
  }

  getGroupByName(name: string): GroupSnapshotRecord | undefined {
    const id = this.groupByName.get(name);
    return id === undefined ? undefined : this.groups.get(id);
  }

  async putGroup(group: GroupSnapshotRecord, opts: { freeing?: boolean } = {}): Promise<void> {
    await this.groups.put(group, opts);
    this.groupByName.set(group.name, group.id);
  }

  async deleteGroup(group: GroupSnapshotRecord): Promise<void> {
    await this.groups.delete(group.id);
    if (this.groupByName.get(group.name) === group.id) this.groupByName.delete(group.name);
  }

  private index(snap: SnapshotRecord): void {
    this.byName.set(snap.name, snap.id);
    this.idsInOrder.add(snap.id);
    let set = this.bySource.get(snap.sourceVolumeId);
    if (!set) {
      set = new Set();
      this.bySource.set(snap.sourceVolumeId, set);
    }
    set.add(snap.id);
  }
}

/** The controller's dependencies as snapshot code sees them: with the whole snapshot catalog. */
export type SnapshotDeps = ControllerDeps<SnapshotCatalog>;
