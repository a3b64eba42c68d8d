import { mkdir, readdir, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { FailedPreconditionError } from '../errors';
import type { Logger } from '../log';
import { removeFile, replaceFile } from './atomic-file';
import { forEachBounded } from './bounded';
import type { DirSyncer } from './dir-sync';
import { listEntries, readRegularFile, readRegularFileSync, setAside } from './entries';
import { versionChecked, withFormatVersion } from './record-fields';
import type { SpaceReserve } from './space-reserve';
import { DEFAULT_JOURNAL_OPTIONS, isSegmentName, Journal, type JournalEntry, type JournalOptions } from './journal';

/** Turns parsed JSON into a typed record, throwing when the shape is wrong (a torn or hand-edited file). */
export type RecordParser<T> = (raw: unknown) => T;

export interface LoadReport {
  loaded: number;
  quarantined: string[];
  tempFilesRemoved: number;
  /** Journal entries re-applied at start-up (changes acknowledged before a crash and not yet checkpointed). */
  replayed: number;
}

const SUFFIX = '.json';
const UNREADABLE = 'state record unreadable: quarantined, data left in place';
/** Exactly what replaceFile names its temp files: a record ID may itself contain ".tmp-". */
const TEMP_FILE = /\.json\.tmp-\d+-\d+$/;

/**
 * One JSON file per record, mirrored in memory. A change touches exactly one file, so no operation rewrites the whole
 * state. A change is durable before it is acknowledged: the file is replaced (temp + rename, so never torn), then the
 * change is appended to the store's journal (`<dir>.journal/`), whose group commit shares one fdatasync among all
 * concurrent changes; a checkpoint later makes the files themselves durable and empties the journal.
 * Callers serialise changes to one key with KeyedLocks.
 */
export class RecordStore<T extends { id: string }> {
  private readonly records = new Map<string, T>();
  /**
   * IDs whose record could not be read at start-up, and where the file was moved. The object may still exist (its
   * data is never touched because of this), so callers answer for it instead of treating it as gone.
   */
  readonly quarantined = new Map<string, string>();
  private readonly journal: Journal;
  /** The caller's parser behind the format-version check (src/state/record-fields.ts). */
  private readonly parse: RecordParser<T>;

  constructor(
    readonly dir: string,
    private readonly quarantineDir: string,
    parse: RecordParser<T>,
    private readonly syncer: DirSyncer,
    journalOptions: JournalOptions = DEFAULT_JOURNAL_OPTIONS,
    /** Room kept for changes that free space on a full disk (src/state/space-reserve.ts); none in some unit tests. */
    private readonly reserve: SpaceReserve | null = null,
  ) {
    this.parse = versionChecked(parse);
    this.journal = new Journal(`${dir}.journal`, syncer, (ids) => this.makeDurable(ids), journalOptions);
  }

  /** A journal checkpoint: fsync the touched record files that still exist, then their directory once. */
  private async makeDurable(ids: ReadonlySet<string>): Promise<void> {
    for (const id of ids) {
      await this.syncer.fsync(this.fileOf(id)).catch((err: NodeJS.ErrnoException) => {
        // Removed since (its removal is made durable by the directory fsync), or replaced again (a newer entry covers it).
        if (err.code !== 'ENOENT') throw err;
      });
    }
    await this.syncer.sync(this.dir);
  }

  get size(): number {
    return this.records.size;
  }

  get(id: string): T | undefined {
    return this.records.get(id);
  }

  values(): IterableIterator<T> {
    return this.records.values();
  }

  fileOf(id: string): string {
    return path.join(this.dir, id + SUFFIX);
  }

  /**
   * Writes the record. `freeing`: this change is part of freeing space (a delete in progress, an unpublish, an
   * unstage) and may spend the space reserve when the filesystem is full; every other change needs room first.
   */
  async put(record: T, opts: { freeing?: boolean } = {}): Promise<void> {
    await this.spend(opts.freeing === true, async () => {
      const before = this.records.get(record.id);
      await replaceFile(this.fileOf(record.id), JSON.stringify(withFormatVersion(record)));
      await this.journal.append({ op: 'put', id: record.id, record: withFormatVersion(record) }).catch((err: unknown) => this.undoFile(record.id, before, err));
      this.records.set(record.id, record);
    });
  }

  /** Removes the record; always allowed to spend the space reserve (removing a record frees space). */
  async delete(id: string): Promise<void> {
    await this.spend(true, async () => {
      const before = this.records.get(id);
      await removeFile(this.fileOf(id));
      await this.journal.append({ op: 'delete', id }).catch((err: unknown) => this.undoFile(id, before, err));
      this.records.delete(id);
    });
  }

  /**
   * Fails with ENOSPC (RESOURCE_EXHAUSTED) now if a change needing space could not be written: for calls that would
   * otherwise do host work (attach a loop device, mount) before their first record write.
   */
  async ensureRoom(): Promise<void> {
    await this.reserve?.requireRoom();
  }

  private spend(freeing: boolean, change: () => Promise<void>): Promise<void> {
    return this.reserve ? this.reserve.spend(freeing, change) : change();
  }

  /**
   * The change was not journaled (ENOSPC), so it is not acknowledged: put the record file back as memory has it, so
   * a restart does not act on a change the caller was told failed. Best effort: should this fail too, the file holds
   * a change that was never acknowledged, which a crash may leave anyway.
   */
  private async undoFile(id: string, before: T | undefined, err: unknown): Promise<never> {
    await (before ? replaceFile(this.fileOf(id), JSON.stringify(withFormatVersion(before))) : removeFile(this.fileOf(id))).catch(() => undefined);
    throw err;
  }

  /** Makes every change so far durable in the record files and empties the journal. */
  async checkpoint(): Promise<void> {
    await this.journal.checkpoint();
  }

  /**
   * Loads every record, then replays the journal over them (changes acknowledged before a crash); unreadable records
   * are moved aside (never deleted) and reported. Entries are looked at with lstat before anything is opened: one
   * that is not a regular file (a directory, FIFO, socket, symlink or device where a record, temp file or segment
   * belongs) is moved to the quarantine folder unopened, so it can neither stop nor hang start-up.
   */
  async load(log: Logger): Promise<LoadReport> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const report: LoadReport = { loaded: 0, quarantined: [], tempFilesRemoved: 0, replayed: 0 };
    await this.setAsideStraySegments(log);
    // A record file the journal rewrites was changed after the last checkpoint, so a crash may have torn it (it was
    // never fsynced): the journal holds its acknowledged content, so it is repaired, not quarantined.
    const journaled = await this.journal.pendingIds();
    // Each entry is its own record: read many at once (src/state/bounded.ts), not one file after another.
    const entries = await listEntries(this.dir);
    await forEachBounded(
      entries,
      async ({ name, type }) => {
        const file = path.join(this.dir, name);
        const isTemp = TEMP_FILE.test(name);
        if (type !== 'file' && (isTemp || name.endsWith(SUFFIX))) {
          await this.setAsideRecordEntry(name, type, isTemp, report, log, journaled);
        } else if (isTemp) {
          // A temp file is a write that never reached its rename: the record it was replacing is still intact.
          await unlink(file);
          report.tempFilesRemoved++;
        } else if (name.endsWith(SUFFIX)) {
          await this.loadOne(file, name.slice(0, -SUFFIX.length), report, log, journaled);
        }
      },
      { log, what: `records read from ${this.dir} (of ${entries.length} entries)` },
    );
    const replay = await this.journal.replay((entry) => this.applyEntry(entry));
    report.replayed = replay.entries;
    if (replay.entries > 0) log.warn({ dir: this.dir, entries: replay.entries, segments: replay.segments }, 'journal replayed: the driver had stopped before a checkpoint');
    if (replay.corrupt.length > 0) log.error({ dir: this.journal.dir, segments: replay.corrupt }, 'journal segment corrupt: replayed every intact entry, kept as *.corrupt');
    await this.recallQuarantined();
    return report;
  }

  /** A journal segment name held by something that is not a regular file: moved away unopened, replay skips it. */
  private async setAsideStraySegments(log: Logger): Promise<void> {
    const entries = await listEntries(this.journal.dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [];
      throw err;
    });
    for (const { name, type } of entries) {
      if (type === 'file' || !isSegmentName(name)) continue;
      await setAside(this.journal.dir, name, type, this.quarantineDir, `${path.basename(this.journal.dir)}-${name}-${Date.now()}.stray`, log);
    }
  }

  /**
   * A temp-file name that is not a file is only moved away. A record name that is not a file is quarantined like an
   * unreadable record: the object it names may exist, so it stays known (abnormal) instead of vanishing.
   */
  private async setAsideRecordEntry(name: string, type: string, isTemp: boolean, report: LoadReport, log: Logger, journaled: ReadonlySet<string>): Promise<void> {
    const store = path.basename(this.dir);
    if (isTemp) {
      await setAside(this.dir, name, type, this.quarantineDir, `${store}-${name}-${Date.now()}.stray`, log);
      return;
    }
    const id = name.slice(0, -SUFFIX.length);
    const dest = await setAside(this.dir, name, type, this.quarantineDir, quarantineName(store, id, Date.now()), log, UNREADABLE);
    // Replay rewrites a journaled record's file, so that object is not damaged.
    if (journaled.has(id)) return;
    report.quarantined.push(id);
    this.quarantined.set(id, dest);
  }

  /**
   * Objects quarantined by an earlier start stay quarantined (README: "a quarantined object is not forgotten"): the
   * quarantine folder is the durable list. Someone who repairs a record puts it back in the record folder (it then
   * loads and wins) or moves the quarantined file away.
   */
  private async recallQuarantined(): Promise<void> {
    const prefix = `${path.basename(this.dir)}-`;
    const latest = new Map<string, number>();
    for (const name of await readdir(this.quarantineDir).catch(() => [] as string[])) {
      if (!name.startsWith(prefix)) continue;
      const m = /^(.+)-(\d+)\.json$/.exec(name.slice(prefix.length));
      if (!m || this.records.has(m[1]!)) continue;
      const id = m[1]!;
      const at = Number(m[2]);
      if ((latest.get(id) ?? -1) >= at) continue;
      latest.set(id, at);
      this.quarantined.set(id, path.join(this.quarantineDir, name));
    }
  }

  /**
   * The CO settled what a quarantined record said (ControllerUnpublishVolume of an unreadable attachment): the file
   * is renamed `*.settled` (kept for a human, no longer recalled at start-up) and the ID forgotten.
   */
  async settleQuarantined(id: string): Promise<boolean> {
    const movedTo = this.quarantined.get(id);
    if (movedTo === undefined) return false;
    await rename(movedTo, `${movedTo}.settled`);
    this.quarantined.delete(id);
    return true;
  }

  /** Re-applies one journaled change; a journaled record is checked like a file read back from disk. */
  private async applyEntry(entry: JournalEntry): Promise<void> {
    if (entry.op === 'delete') {
      await removeFile(this.fileOf(entry.id));
      this.records.delete(entry.id);
      return;
    }
    const record = this.parse(entry.record);
    if (record.id !== entry.id) throw new Error(`journal entry for ${entry.id} holds record ${record.id}`);
    await replaceFile(this.fileOf(record.id), JSON.stringify(withFormatVersion(record)));
    this.records.set(record.id, record);
  }

  private async loadOne(file: string, id: string, report: LoadReport, log: Logger, journaled: ReadonlySet<string>): Promise<void> {
    try {
      // Start-up only (load): synchronous, batched by forEachBounded (see readRegularFileSync).
      const record = this.parse(JSON.parse(readRegularFileSync(file)));
      if (record.id !== id) throw new Error(`record id ${JSON.stringify(record.id)} does not match its file name`);
      this.records.set(id, record);
      report.loaded++;
    } catch (err) {
      if (journaled.has(id)) return;
      await mkdir(this.quarantineDir, { recursive: true, mode: 0o700 });
      const dest = path.join(this.quarantineDir, quarantineName(path.basename(this.dir), id, Date.now()));
      await rename(file, dest);
      log.error({ file, movedTo: dest, err: (err as Error).message }, UNREADABLE);
      report.quarantined.push(id);
      this.quarantined.set(id, dest);
    }
  }
}

function quarantineName(store: string, id: string, at: number): string {
  return `${store}-${id}-${at}${SUFFIX}`;
}

/**
 * Where another process quarantined the record `id` of the store kept in directory `storeDir` (a node process reads
 * the controller's records from disk and does not share its memory), or null.
 */
export async function findQuarantined(quarantineDir: string, storeDir: string, id: string): Promise<string | null> {
  const prefix = `${path.basename(storeDir)}-${id}-`;
  const names = await readdir(quarantineDir).catch(() => [] as string[]);
  const hit = names.find((n) => n.startsWith(prefix) && /^\d+\.json$/.test(n.slice(prefix.length)));
  return hit === undefined ? null : path.join(quarantineDir, hit);
}

/** The answer for an object whose record is quarantined: it is not gone (its data is there), and it is not usable. */
export function quarantinedError(what: string, id: string, movedTo: string): FailedPreconditionError {
  return new FailedPreconditionError(`${what} ${id} has an unreadable state record, moved to ${movedTo}; its data is left in place until the record is repaired`);
}

/** Reads one record straight from disk (for a process that does not own the store), or null if absent. */
export async function readRecordFile<T>(file: string, parse: RecordParser<T>): Promise<T | null> {
  let text: string;
  try {
    text = await readRegularFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  return versionChecked(parse)(JSON.parse(text));
}
