import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { open } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirSyncer, fsyncPath } from '../../../src/state/dir-sync';
import { encodeEntry, decodeSegment, type OpenSegment } from '../../../src/state/journal';
import { RecordStore } from '../../../src/state/record-store';
import { makeTempDir, removeDir, silentLogger } from '../../helpers/fakes';
import { parseItem, type Item } from '../../helpers/state-items';

// Counted at the store's seams, not by mocking node:fs: fdatasyncs of the segments the journal opens for appending
// (JournalOptions.openSegment), and fsyncs of record files and directories (DirSyncer's fsync).
const datasyncs = { count: 0 };
const fsynced: string[] = [];
const countingOpenSegment: OpenSegment = async (file) => {
  const handle = await open(file, 'a', 0o600);
  const datasync = handle.datasync.bind(handle);
  handle.datasync = async () => {
    datasyncs.count++;
    return datasync();
  };
  return handle;
};
/** Only fsyncs that happened count (a record file removed since fails with ENOENT and is skipped by the store). */
const countingFsync = async (p: string): Promise<void> => {
  await fsyncPath(p);
  fsynced.push(p);
};


let dir: string;
let recordsDir: string;
let journalDir: string;
const log = silentLogger();

/** A store that checkpoints only when asked. */
function newStore(): RecordStore<Item> {
  return new RecordStore<Item>(recordsDir, path.join(dir, 'quarantine'), parseItem, new DirSyncer(countingFsync), {
    checkpointEntries: 1_000_000,
    checkpointIdleMs: 3_600_000,
    openSegment: countingOpenSegment,
  });
}

/** Record files (not directories) fsynced so far, by name. */
const recordFsyncs = (): string[] => fsynced.filter((p) => p.startsWith(`${recordsDir}/`)).map((p) => path.basename(p));

/** What a power cut after the acknowledgement could leave: record files that never reached the disk. */
async function loseRecordFiles(): Promise<void> {
  await rm(recordsDir, { recursive: true, force: true });
  await mkdir(recordsDir);
}

beforeEach(async () => {
  dir = await makeTempDir();
  recordsDir = path.join(dir, 'records', 'items');
  journalDir = `${recordsDir}.journal`;
  await mkdir(recordsDir, { recursive: true });
  datasyncs.count = 0;
  fsynced.length = 0;
});

afterEach(async () => {
  await removeDir(dir);
});

describe('record journal (group commit)', () => {
  it('acknowledges 64 concurrent changes with far fewer fdatasyncs than changes', async () => {
    const store = newStore();
    await Promise.all(Array.from({ length: 64 }, (_, i) => store.put({ id: `v${i}`, value: i })));
    expect(datasyncs.count).toBeGreaterThanOrEqual(1);
    expect(datasyncs.count).toBeLessThanOrEqual(2);
    expect(store.size).toBe(64);
  });

  it('brings back acknowledged puts and deletes whose record files were lost', async () => {
    const writer = newStore();
    await writer.put({ id: 'a', value: 1 });
    await writer.put({ id: 'b', value: 2 });
    await writer.put({ id: 'a', value: 3 });
    await writer.delete('b');
    await loseRecordFiles();
    await writeFile(path.join(recordsDir, 'b.json'), JSON.stringify({ id: 'b', value: 2 }));
    const reader = newStore();
    const report = await reader.load(log);
    expect(report.replayed).toBe(4);
    expect([...reader.values()]).toEqual([{ id: 'a', value: 3 }]);
    expect(await readdir(recordsDir)).toEqual(['a.json']);
    expect(JSON.parse(await readFile(path.join(recordsDir, 'a.json'), 'utf8'))).toEqual({ formatVersion: 1, id: 'a', value: 3 });
  });

  it('makes the replayed records durable (fsync of each file still present, then the directory), then empties the journal', async () => {
    const writer = newStore();
    await writer.put({ id: 'a', value: 1 });
    await writer.put({ id: 'gone', value: 2 });
    await writer.delete('gone');
    fsynced.length = 0;
    await newStore().load(log);
    expect(recordFsyncs()).toEqual(['a.json']);
    expect(fsynced).toContain(recordsDir);
    expect(await readdir(journalDir)).toEqual([]);
  });

  it('repairs a record file torn after the acknowledgement from the journal instead of quarantining it', async () => {
    const writer = newStore();
    await writer.put({ id: 'a', value: 1 });
    await writeFile(path.join(recordsDir, 'a.json'), '{"id":"a","va');
    const reader = newStore();
    const report = await reader.load(log);
    expect(report.quarantined).toEqual([]);
    expect(reader.get('a')).toEqual({ id: 'a', value: 1 });
    expect(JSON.parse(await readFile(path.join(recordsDir, 'a.json'), 'utf8'))).toEqual({ formatVersion: 1, id: 'a', value: 1 });
    expect(await readdir(dir)).not.toContain('quarantine');
  });

  it('checkpoint fsyncs the touched record files and deletes the closed segment', async () => {
    const store = newStore();
    await store.put({ id: 'a', value: 1 });
    expect(await readdir(journalDir)).toHaveLength(1);
    fsynced.length = 0;
    await store.checkpoint();
    expect(recordFsyncs()).toEqual(['a.json']);
    expect(fsynced).toContain(recordsDir);
    expect(await readdir(journalDir)).toEqual([]);
    expect(store.get('a')).toEqual({ id: 'a', value: 1 });
  });

  it('a record created and deleted between two checkpoints costs no file fsync', async () => {
    const store = newStore();
    await store.put({ id: 'a', value: 1 });
    await store.delete('a');
    fsynced.length = 0;
    await store.checkpoint();
    expect(recordFsyncs()).toEqual([]);
    expect(await readdir(journalDir)).toEqual([]);
  });

  it('keeps the segment when the checkpoint fails, so a restart still replays it', async () => {
    const store = newStore();
    await store.put({ id: 'a', value: 1 });
    // The records directory vanishing makes its fsync fail.
    await rm(recordsDir, { recursive: true, force: true });
    await store.checkpoint();
    expect(await readdir(journalDir)).toHaveLength(1);
    await mkdir(recordsDir);
    const reader = newStore();
    await reader.load(log);
    expect(reader.get('a')).toEqual({ id: 'a', value: 1 });
  });

  it('writes after a checkpoint go to a new segment', async () => {
    const store = newStore();
    await store.put({ id: 'a', value: 1 });
    await store.checkpoint();
    await store.put({ id: 'b', value: 2 });
    expect(await readdir(journalDir)).toEqual(['000000000002.log']);
  });

  it('ignores a torn final append (never acknowledged) and replays what precedes it', async () => {
    await mkdir(journalDir);
    const whole = encodeEntry({ op: 'put', id: 'a', record: { id: 'a', value: 1 } });
    const torn = encodeEntry({ op: 'put', id: 'b', record: { id: 'b', value: 2 } }).slice(0, 20);
    await writeFile(path.join(journalDir, '000000000001.log'), whole + torn);
    const store = newStore();
    const report = await store.load(log);
    expect(report.replayed).toBe(1);
    expect([...store.values()]).toEqual([{ id: 'a', value: 1 }]);
    expect(await readdir(journalDir)).toEqual([]);
  });

});

describe('decodeSegment', () => {
  it('reads back what encodeEntry wrote', () => {
    const entries = [
      { op: 'put' as const, id: 'x', record: { id: 'x', value: 1 } },
      { op: 'delete' as const, id: 'x' },
    ];
    expect(decodeSegment(entries.map(encodeEntry).join(''))).toEqual({ entries, corrupt: false });
  });
});
