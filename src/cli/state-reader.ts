import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { decodeSegment, isSegmentName } from '../state/journal';
import { listEntries, readRegularFile } from '../state/entries';
import { versionChecked } from '../state/record-fields';
import type { RecordParser } from '../state/record-store';
import { parseGroupSnapshotRecord, parseSnapshotRecord, type GroupSnapshotRecord, type SnapshotRecord } from '../snapshots/model';
import { StateLayout } from '../volumes/layout';
import { parseAttachmentRecord, parseNodeVolumeRecord, parseVolumeRecord, type AttachmentRecord, type NodeVolumeRecord, type VolumeRecord } from '../volumes/model';

/** A record file that could not be read: the driver quarantines it at its next start. */
export interface UnreadableRecord {
  store: string;
  id: string;
  file: string;
  reason: string;
}

/** A store's records as the driver would load them, without changing anything on disk. */
export interface StoreView<T> {
  records: Map<string, T>;
  unreadable: UnreadableRecord[];
  /** Journal entries not yet checkpointed (the driver is running, or stopped without a clean shutdown). */
  journaled: number;
}

export interface QuarantinedFile {
  store: string;
  id: string;
  file: string;
  /** When the driver moved it aside (from its name). */
  at: string;
  /** ControllerUnpublishVolume settled it (`*.settled`): kept for a human, no longer in force. */
  settled: boolean;
}

export interface StateView {
  root: string;
  volumes: StoreView<VolumeRecord>;
  attachments: StoreView<AttachmentRecord>;
  node: StoreView<NodeVolumeRecord>;
  snapshots: StoreView<SnapshotRecord>;
  groups: StoreView<GroupSnapshotRecord>;
  quarantine: QuarantinedFile[];
  /** Entries of the quarantine folder that are not records (`*.stray`, `*.corrupt`). */
  strays: string[];
}

const TEMP_FILE = /\.json\.tmp-\d+-\d+$/;
const STORES = ['volumes', 'attachments', 'node', 'snapshots', 'group-snapshots'] as const;

const isGone = (err: unknown): boolean => (err as NodeJS.ErrnoException).code === 'ENOENT';

/**
 * Reads one record store the way RecordStore.load does (record files, then the journal's segments replayed over
 * them in order), but only in memory: nothing is quarantined, repaired or removed. A record or segment that vanishes
 * mid-read (a running driver deleted or checkpointed it) is skipped; one that cannot be parsed is reported.
 */
export async function readStore<T extends { id: string }>(dir: string, parse: RecordParser<T>): Promise<StoreView<T>> {
  const checked = versionChecked(parse);
  const view: StoreView<T> = { records: new Map(), unreadable: [], journaled: 0 };
  const store = path.basename(dir);
  const entries = await listEntries(dir).catch((err: unknown) => (isGone(err) ? [] : Promise.reject(err)));
  for (const { name } of entries) {
    if (!name.endsWith('.json') || TEMP_FILE.test(name)) continue;
    const id = name.slice(0, -'.json'.length);
    const file = path.join(dir, name);
    try {
      const record = checked(JSON.parse(await readRegularFile(file)));
      if (record.id !== id) throw new Error(`record id ${JSON.stringify(record.id)} does not match its file name`);
      view.records.set(id, record);
    } catch (err) {
      if (!isGone(err)) view.unreadable.push({ store, id, file, reason: (err as Error).message });
    }
  }
  await replayJournal(`${dir}.journal`, checked, view);
  return view;
}

async function replayJournal<T extends { id: string }>(journalDir: string, parse: RecordParser<T>, view: StoreView<T>): Promise<void> {
  const names = (await readdir(journalDir).catch(() => [] as string[])).filter(isSegmentName).sort();
  for (const name of names) {
    const text = await readRegularFile(path.join(journalDir, name)).catch(() => null);
    if (text === null) continue;
    for (const entry of decodeSegment(text).entries) {
      view.journaled++;
      if (entry.op === 'delete') {
        view.records.delete(entry.id);
        continue;
      }
      try {
        view.records.set(entry.id, parse(entry.record));
        // The journal holds the acknowledged content: a torn file of this record is repaired at start, not quarantined.
        view.unreadable = view.unreadable.filter((u) => u.id !== entry.id);
      } catch {
        // An entry that passed its checksum but not the parser: replay would fail the same way; the file stands.
      }
    }
  }
}

/** Quarantine file names: `<store>-<id>-<ms>.json`, `.settled` once ControllerUnpublishVolume settled it. */
export function parseQuarantineName(name: string): Omit<QuarantinedFile, 'file'> | null {
  const m = /^(volumes|attachments|node|snapshots|group-snapshots)-(.+)-(\d+)\.json(\.settled)?$/.exec(name);
  if (!m) return null;
  return { store: m[1]!, id: m[2]!, at: new Date(Number(m[3])).toISOString(), settled: m[4] !== undefined };
}

async function readQuarantine(dir: string): Promise<{ quarantine: QuarantinedFile[]; strays: string[] }> {
  const quarantine: QuarantinedFile[] = [];
  const strays: string[] = [];
  for (const name of (await readdir(dir).catch(() => [] as string[])).sort()) {
    const parsed = parseQuarantineName(name);
    if (parsed) quarantine.push({ ...parsed, file: path.join(dir, name) });
    else strays.push(path.join(dir, name));
  }
  return { quarantine, strays };
}

/** Everything the state directory records, read without the driver (which may be running or stopped). */
export async function readState(root: string): Promise<StateView> {
  const layout = new StateLayout(root);
  const [volumes, attachments, node, snapshots, groups, q] = await Promise.all([
    readStore(layout.volumeRecordsDir, parseVolumeRecord),
    readStore(layout.attachmentRecordsDir, parseAttachmentRecord),
    readStore(layout.nodeRecordsDir, parseNodeVolumeRecord),
    readStore(layout.snapshotRecordsDir, parseSnapshotRecord),
    readStore(layout.groupSnapshotRecordsDir, parseGroupSnapshotRecord),
    readQuarantine(layout.quarantineDir),
  ]);
  return { root, volumes, attachments, node, snapshots, groups, ...q };
}

/** Quarantined and unreadable records of one store: what the driver treats as "there, but unusable". */
export function knownButUnreadable(view: StateView, store: (typeof STORES)[number]): Set<string> {
  const ids = new Set(view.quarantine.filter((q) => q.store === store && !q.settled).map((q) => q.id));
  const storeView = { volumes: view.volumes, attachments: view.attachments, node: view.node, snapshots: view.snapshots, 'group-snapshots': view.groups }[store];
  for (const u of storeView.unreadable) ids.add(u.id);
  return ids;
}
