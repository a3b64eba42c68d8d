import { mkdir, readdir, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { FailedPreconditionError } from '../errors';
import type { Logger } from '../log';
import { removeFileDurably, writeFileAtomic } from './atomic-file';
import type { DirSyncer } from './dir-sync';

/** Turns parsed JSON into a typed record, throwing when the shape is wrong (a torn or hand-edited file). */
export type RecordParser<T> = (raw: unknown) => T;

export interface LoadReport {
  loaded: number;
  quarantined: string[];
  tempFilesRemoved: number;
}

const SUFFIX = '.json';
/** Exactly what writeFileAtomic names its temp files: a record ID may itself contain ".tmp-". */
const TEMP_FILE = /\.json\.tmp-\d+-\d+$/;

/**
 * One JSON file per record, written atomically, mirrored in memory. A change touches exactly one file, so no
 * operation rewrites the whole state. Callers serialise changes to one key with KeyedLocks.
 */
export class RecordStore<T extends { id: string }> {
  private readonly records = new Map<string, T>();
  /**
   * IDs whose record could not be read at start-up, and where the file was moved. The object may still exist (its
   * data is never touched because of this), so callers answer for it instead of treating it as gone.
   */
  readonly quarantined = new Map<string, string>();

  constructor(
    readonly dir: string,
    private readonly quarantineDir: string,
    private readonly parse: RecordParser<T>,
    private readonly syncer: DirSyncer,
  ) {}

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

  async put(record: T): Promise<void> {
    await writeFileAtomic(this.fileOf(record.id), JSON.stringify(record), this.syncer);
    this.records.set(record.id, record);
  }

  async delete(id: string): Promise<void> {
    await removeFileDurably(this.fileOf(id), this.syncer);
    this.records.delete(id);
  }

  /** Loads every record; unreadable ones are moved aside (never deleted) and reported. */
  async load(log: Logger): Promise<LoadReport> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const report: LoadReport = { loaded: 0, quarantined: [], tempFilesRemoved: 0 };
    for (const name of (await readdir(this.dir)).sort()) {
      const file = path.join(this.dir, name);
      if (TEMP_FILE.test(name)) {
        // A temp file is a write that never reached its rename: the record it was replacing is still intact.
        await unlink(file);
        report.tempFilesRemoved++;
      } else if (name.endsWith(SUFFIX)) {
        await this.loadOne(file, name.slice(0, -SUFFIX.length), report, log);
      }
    }
    return report;
  }

  private async loadOne(file: string, id: string, report: LoadReport, log: Logger): Promise<void> {
    try {
      const record = this.parse(JSON.parse(await readFile(file, 'utf8')));
      if (record.id !== id) throw new Error(`record id ${JSON.stringify(record.id)} does not match its file name`);
      this.records.set(id, record);
      report.loaded++;
    } catch (err) {
      await mkdir(this.quarantineDir, { recursive: true, mode: 0o700 });
      const dest = path.join(this.quarantineDir, quarantineName(path.basename(this.dir), id, Date.now()));
      await rename(file, dest);
      log.error({ file, movedTo: dest, err: (err as Error).message }, 'state record unreadable: quarantined, data left in place');
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
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  return parse(JSON.parse(text));
}
