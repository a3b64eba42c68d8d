import type { Logger } from '../log';
import type { DirSyncer } from '../state/dir-sync';
import { salvageName } from '../state/entries';
import { RecordStore } from '../state/record-store';
import type { SpaceReserve } from '../state/space-reserve';
import { SortedKeys } from '../state/sorted-keys';
import type { StateLayout } from './layout';
import { parseAttachmentRecord, parseVolumeRecord, type AttachmentRecord, type VolumeRecord } from './model';

/**
 * The controller's view of every volume and attachment: durable records plus the in-memory indexes (by name, by
 * volume, per node) that keep lookups O(1) however many volumes exist.
 */
export class VolumeCatalog {
  readonly volumes: RecordStore<VolumeRecord>;
  readonly attachments: RecordStore<AttachmentRecord>;
  private readonly byName = new Map<string, string>();
  /** Names still readable in quarantined volume records: taken, so CreateVolume cannot make a second volume. */
  private readonly quarantinedByName = new Map<string, string>();
  /** Every volume ID in order: ListVolumes pages from here instead of sorting all IDs per call. */
  readonly idsInOrder = new SortedKeys();
  private readonly attachmentsByVolume = new Map<string, Map<string, AttachmentRecord>>();
  private readonly attachCountByNode = new Map<string, number>();

  constructor(layout: StateLayout, syncer: DirSyncer, reserve: SpaceReserve | null = null) {
    this.volumes = new RecordStore(layout.volumeRecordsDir, layout.quarantineDir, parseVolumeRecord, syncer, undefined, reserve);
    this.attachments = new RecordStore(layout.attachmentRecordsDir, layout.quarantineDir, parseAttachmentRecord, syncer, undefined, reserve);
  }

  async load(log: Logger): Promise<void> {
    const v = await this.volumes.load(log);
    const a = await this.attachments.load(log);
    for (const vol of this.volumes.values()) {
      this.byName.set(vol.name, vol.id);
      this.idsInOrder.add(vol.id);
    }
    // ListVolumes also lists volumes whose record is quarantined (their data may still be there).
    for (const [id, movedTo] of this.volumes.quarantined) {
      this.idsInOrder.add(id);
      const name = await salvageName(movedTo);
      if (name !== null) this.quarantinedByName.set(name, id);
      else log.warn({ volumeId: id, file: movedTo }, 'quarantined volume record shows no name: its name is not held');
    }
    for (const att of this.attachments.values()) this.indexAttachment(att);
    log.info({ volumes: v.loaded, attachments: a.loaded, quarantined: v.quarantined.length + a.quarantined.length }, 'controller state loaded');
  }

  /** Where the unreadable record of this volume was moved at start-up, if it was. */
  quarantinedVolume(id: string): string | undefined {
    return this.volumes.quarantined.get(id);
  }

  /** Unreadable attachment records of this volume (their IDs start with the volume ID; see attachmentId). */
  quarantinedAttachmentsOf(volumeId: string): string[] {
    return [...this.attachments.quarantined.keys()].filter((id) => id.startsWith(`${volumeId}.`));
  }

  /** The quarantined volume that held this name, if its damaged record still shows it. */
  quarantinedVolumeNamed(name: string): string | undefined {
    return this.quarantinedByName.get(name);
  }

  /** ControllerUnpublishVolume settled what an unreadable attachment record said: forget it, also across restarts. */
  resolveQuarantinedAttachment(id: string): Promise<boolean> {
    return this.attachments.settleQuarantined(id);
  }

  getVolume(id: string): VolumeRecord | undefined {
    return this.volumes.get(id);
  }

  getVolumeByName(name: string): VolumeRecord | undefined {
    const id = this.byName.get(name);
    return id === undefined ? undefined : this.volumes.get(id);
  }

  /** `freeing`: see RecordStore.put (a delete in progress may spend the space reserve). */
  async putVolume(vol: VolumeRecord, opts: { freeing?: boolean } = {}): Promise<void> {
    await this.volumes.put(vol, opts);
    this.byName.set(vol.name, vol.id);
    this.idsInOrder.add(vol.id);
  }

  async deleteVolume(vol: VolumeRecord): Promise<void> {
    await this.volumes.delete(vol.id);
    if (this.byName.get(vol.name) === vol.id) this.byName.delete(vol.name);
    this.idsInOrder.delete(vol.id);
  }

  attachmentsOf(volumeId: string): AttachmentRecord[] {
    return [...(this.attachmentsByVolume.get(volumeId)?.values() ?? [])];
  }

  attachment(volumeId: string, nodeId: string): AttachmentRecord | undefined {
    return this.attachmentsByVolume.get(volumeId)?.get(nodeId);
  }

  attachCount(nodeId: string): number {
    return this.attachCountByNode.get(nodeId) ?? 0;
  }

  async putAttachment(att: AttachmentRecord): Promise<void> {
    await this.attachments.put(att);
    this.indexAttachment(att);
  }

  async deleteAttachment(att: AttachmentRecord): Promise<void> {
    await this.attachments.delete(att.id);
    const perVolume = this.attachmentsByVolume.get(att.volumeId);
    if (perVolume?.delete(att.nodeId)) {
      this.attachCountByNode.set(att.nodeId, this.attachCount(att.nodeId) - 1);
      if (perVolume.size === 0) this.attachmentsByVolume.delete(att.volumeId);
    }
  }

  private indexAttachment(att: AttachmentRecord): void {
    let perVolume = this.attachmentsByVolume.get(att.volumeId);
    if (!perVolume) {
      perVolume = new Map();
      this.attachmentsByVolume.set(att.volumeId, perVolume);
    }
    if (!perVolume.has(att.nodeId)) this.attachCountByNode.set(att.nodeId, this.attachCount(att.nodeId) + 1);
    perVolume.set(att.nodeId, att);
  }
}

