import { createHash } from 'node:crypto';
import { channel } from 'node:diagnostics_channel';
import { mkdir, open, readdir, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { DirSyncer } from './dir-sync';
import { withPath } from './atomic-file';
import { readRegularFile } from './entries';

/** Makes the record files of these IDs (and their directory entries) durable; IDs whose file is gone are skipped. */
export type MakeDurable = (ids: ReadonlySet<string>) => Promise<void>;

/** One change to a record store, as the journal keeps it. */
export type JournalEntry = { op: 'put'; id: string; record: unknown } | { op: 'delete'; id: string };

export interface JournalOptions {
  /** A segment holding this many entries is checkpointed. */
  checkpointEntries: number;
  /** A segment is also checkpointed once no change has come for this long (so an idle driver's journal is empty). */
  checkpointIdleMs: number;
  /** How segments are opened for appending (tests inject failing writes here); default: open(file, 'a'). */
  openSegment?: OpenSegment;
}

/**
 * Large enough that a burst (a StatefulSet scaling up, a CI farm's churn) is checkpointed when it is over rather than
 * during it, and that a volume created and deleted within a burst never costs a file fsync; small enough that replay
 * after a crash stays a few seconds.
 */
export const DEFAULT_JOURNAL_OPTIONS: JournalOptions = { checkpointEntries: 32_768, checkpointIdleMs: 2000 };

export interface ReplayReport {
  entries: number;
  segments: number;
  /** Segments with a line that failed its checksum before their end: renamed `*.corrupt`, never deleted. */
  corrupt: string[];
}

/** What the journal publishes after each group commit (src/metrics/ subscribes; free while nobody does). */
export interface JournalCommit {
  /** The journal's directory (`<store>.journal`). */
  dir: string;
  entries: number;
  fdatasyncSeconds: number;
}
export const journalCommits = channel('hostpath-csi:journal-commit');

const SEGMENT = /^(\d{12})\.log$/;
/** True for a name the journal would give a segment (whatever kind of entry holds it). */
export const isSegmentName = (name: string): boolean => SEGMENT.test(name);
const segmentName = (seq: number): string => `${String(seq).padStart(12, '0')}.log`;

function checksum(json: string): string {
  return createHash('sha256').update(json).digest('hex').slice(0, 16);
}

export function encodeEntry(entry: JournalEntry): string {
  const json = JSON.stringify(entry);
  return `${checksum(json)} ${json}\n`;
}

/** One line as encodeEntry wrote it, or null if it fails its checksum. */
function decodeLine(line: string): JournalEntry | null {
  const json = line.slice(17);
  if (line[16] !== ' ' || checksum(json) !== line.slice(0, 16)) return null;
  try {
    return JSON.parse(json) as JournalEntry;
  } catch {
    return null;
  }
}

/**
 * A whole entry at the end of a damaged line: an append cut short (ENOSPC mid-write) by a driver that kept
 * appending to the same segment leaves the torn bytes and the next, acknowledged entry on one line.
 */
function entryAtEndOf(line: string): JournalEntry | null {
  for (const m of line.matchAll(/[0-9a-f]{16} \{/g)) {
    if (m.index === 0) continue;
    const entry = decodeLine(line.slice(m.index));
    if (entry) return entry;
  }
  return null;
}

/**
 * The entries of one segment. Every line carries its own checksum, so a damaged line is skipped and every intact
 * line after it is still applied: a damaged line is never an acknowledged entry of this driver (a failed append is
 * cut back before anything else is acknowledged, see Journal.cutBack), while the lines after it may well be, and
 * dropping them would lose acknowledged changes. The segment is reported corrupt so it is kept for a human. A
 * non-empty remainder after the last newline is a torn final append: never acknowledged, ignored.
 */
export function decodeSegment(text: string): { entries: JournalEntry[]; corrupt: boolean } {
  const lines = text.split('\n');
  lines.pop();
  const entries: JournalEntry[] = [];
  let corrupt = false;
  for (const line of lines) {
    const entry = decodeLine(line);
    if (entry) {
      entries.push(entry);
      continue;
    }
    corrupt = true;
    const tail = entryAtEndOf(line);
    if (tail) entries.push(tail);
  }
  return { entries, corrupt };
}

/**
 * What the journal needs of an open segment (a FileHandle has all of it): the seam where tests inject short writes
 * and ENOSPC.
 */
export interface SegmentFile {
  write(buffer: Buffer, offset: number, length: number, position: number | null): Promise<{ bytesWritten: number }>;
  datasync(): Promise<void>;
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  stat(): Promise<{ size: number }>;
  close(): Promise<void>;
}

export type OpenSegment = (file: string) => Promise<SegmentFile>;

/** Writes all of `data`, going on after a short write (the next write then fails with the reason, e.g. ENOSPC). */
async function writeAll(file: SegmentFile, data: Buffer): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await file.write(data, done, data.length - done, null);
    if (bytesWritten <= 0) throw new Error(`journal append wrote nothing (${done} of ${data.length} bytes written)`);
    done += bytesWritten;
  }
}

const openForAppend: OpenSegment = (file) => open(file, 'a', 0o600);

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * Group commit for one record store. A change is applied to its record file without waiting for the disk, then
 * appended here; every change that arrives while an append + fdatasync is running shares the next one. N concurrent
 * changes cost one fdatasync instead of N file fsyncs and N directory fsyncs, and a change is acknowledged only once
 * its entry is on disk.
 *
 * Checkpoint: once a segment holds enough entries, or the store has gone idle, new appends start a new segment, the
 * record files the closed segment touched and that still exist are fsynced (one at a time, in the background: a
 * volume created and deleted within one segment costs nothing), their directory is fsynced once, and the segment is
 * deleted. Only record files are flushed, never other data on the filesystem (a syncfs would also flush every pod's
 * dirty data). After a crash, replay applies the remaining segments' entries in order over the record files.
 */
export class Journal {
  private seq = 1;
  private handle: SegmentFile | null = null;
  /** Bytes of the open segment that hold whole, synced entries: where a failed append is cut back to. */
  private goodSize = 0;
  private entriesInSegment = 0;
  /** IDs changed in the open segment: what its checkpoint must make durable. */
  private touched = new Set<string>();
  private pending: string[] = [];
  private waiters: Waiter[] = [];
  private flushing: Promise<void> | null = null;
  private checkpoints: Promise<void> = Promise.resolve();
  private idleTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly dir: string,
    private readonly syncer: DirSyncer,
    private readonly makeDurable: MakeDurable,
    private readonly options: JournalOptions = DEFAULT_JOURNAL_OPTIONS,
  ) {}

  /** Resolves once the entry is durable. */
  append(entry: JournalEntry): Promise<void> {
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.pending.push(encodeEntry(entry));
    this.touched.add(entry.id);
    this.flushing ??= this.flushLoop();
    return done;
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const lines = this.pending.splice(0);
        const waiters = this.waiters.splice(0);
        let handle: SegmentFile | null = null;
        try {
          handle = await this.openSegment();
          const data = Buffer.from(lines.join(''), 'utf8');
          await writeAll(handle, data);
          const syncStarted = process.hrtime.bigint();
          await handle.datasync();
          if (journalCommits.hasSubscribers) {
            const commit: JournalCommit = { dir: this.dir, entries: lines.length, fdatasyncSeconds: Number(process.hrtime.bigint() - syncStarted) / 1e9 };
            journalCommits.publish(commit);
          }
          // writeAll wrote every byte or threw: no fstat needed on the group-commit path.
          this.goodSize += data.length;
          this.entriesInSegment += lines.length;
          for (const w of waiters) w.resolve();
        } catch (err) {
          if (handle) await this.cutBack(handle);
          // A FileHandle's errors carry no path: name the segment, so a full disk's message says which filesystem.
          withPath(err, path.join(this.dir, segmentName(this.seq)));
          for (const w of waiters) w.reject(err);
        }
        if (this.entriesInSegment >= this.options.checkpointEntries) this.rotate();
      }
    } finally {
      this.flushing = null;
    }
    this.armIdleCheckpoint();
  }

  /**
   * A failed or short append (ENOSPC mid-write, a failed fdatasync) may have left part of its lines in the segment.
   * Before the next append is acknowledged, the segment is cut back to its last whole, synced entry; if even that
   * fails, the segment is closed and the next append starts a new one. Either way no later entry follows a torn
   * line in the same segment, so replay cannot mistake acknowledged entries for damage.
   */
  private async cutBack(handle: SegmentFile): Promise<void> {
    try {
      await handle.truncate(this.goodSize);
      await handle.sync();
    } catch {
      this.rotate();
    }
  }

  private async openSegment(): Promise<SegmentFile> {
    if (this.handle) return this.handle;
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const handle = await (this.options.openSegment ?? openForAppend)(path.join(this.dir, segmentName(this.seq)));
    try {
      this.goodSize = (await handle.stat()).size;
      // The new segment's directory entry must be durable before anything in it is acknowledged.
      await this.syncer.sync(this.dir);
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err;
    }
    this.handle = handle;
    return handle;
  }

  private armIdleCheckpoint(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.flushing === null) this.rotate();
    }, this.options.checkpointIdleMs);
    this.idleTimer.unref();
  }

  /**
   * Closes the current segment (the next append opens a new one) and queues its checkpoint. Synchronous up to the
   * queueing, so no append can slip into the closed segment.
   */
  private rotate(): void {
    const closed = this.handle;
    if (!closed) return;
    this.handle = null;
    const closedUpTo = this.seq++;
    const touched = this.touched;
    this.touched = new Set();
    this.entriesInSegment = 0;
    this.checkpoints = this.checkpoints.then(async () => {
      await closed.close().catch(() => undefined);
      // Every entry in a closed segment was appended after its record file was written or removed: once those files
      // and their directory are durable, the segment is no longer needed.
      await this.makeDurable(touched);
      await this.removeSegmentsUpTo(closedUpTo);
    }).catch(() => {
      // A failed checkpoint keeps its segments: the next one, or replay at start-up, covers them. Nothing is lost.
    });
  }

  /** Waits for queued checkpoints (tests, and a clean shutdown that wants an empty journal). */
  async checkpoint(): Promise<void> {
    await this.flushing;
    this.rotate();
    await this.checkpoints;
  }

  private async removeSegmentsUpTo(seq: number): Promise<void> {
    for (const name of await readdir(this.dir)) {
      const m = SEGMENT.exec(name);
      if (m && Number(m[1]) <= seq) await unlink(path.join(this.dir, name));
    }
    await this.syncer.sync(this.dir);
  }

  /** IDs the segments left by a crash will rewrite at replay (read before the record files, so none is quarantined). */
  async pendingIds(): Promise<Set<string>> {
    const ids = new Set<string>();
    const names = (await readdir(this.dir).catch(() => [] as string[])).filter((n) => SEGMENT.test(n));
    for (const name of names) for (const e of decodeSegment(await readRegularFile(path.join(this.dir, name))).entries) ids.add(e.id);
    return ids;
  }

  /**
   * Start-up: applies every segment's entries in order, makes the result durable, and removes the segments. Must run
   * before the first append.
   */
  async replay(apply: (entry: JournalEntry) => Promise<void>): Promise<ReplayReport> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const names = (await readdir(this.dir)).filter((n) => SEGMENT.test(n)).sort();
    const report: ReplayReport = { entries: 0, segments: names.length, corrupt: [] };
    const touched = new Set<string>();
    for (const name of names) {
      const { entries, corrupt } = decodeSegment(await readRegularFile(path.join(this.dir, name)));
      for (const entry of entries) {
        await apply(entry);
        touched.add(entry.id);
      }
      report.entries += entries.length;
      if (corrupt) {
        await rename(path.join(this.dir, name), path.join(this.dir, `${name}.corrupt`));
        report.corrupt.push(name);
      }
    }
    if (names.length > 0) {
      await this.makeDurable(touched);
      await this.removeSegmentsUpTo(Number.MAX_SAFE_INTEGER);
      this.seq = Number(SEGMENT.exec(names[names.length - 1]!)![1]) + 1;
    }
    return report;
  }
}
