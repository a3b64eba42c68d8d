import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirSyncer } from '../../../src/state/dir-sync';
import { readRecordFile, RecordStore } from '../../../src/state/record-store';
import { makeTempDir, removeDir, silentLogger } from '../../helpers/fakes';
import { parseItem, type Item } from '../../helpers/state-items';


let dir: string;
let recordsDir: string;
let quarantineDir: string;
const log = silentLogger();

const newStore = () => new RecordStore<Item>(recordsDir, quarantineDir, parseItem, new DirSyncer());

beforeEach(async () => {
  dir = await makeTempDir();
  recordsDir = path.join(dir, 'records', 'items');
  quarantineDir = path.join(dir, 'quarantine');
  await mkdir(recordsDir, { recursive: true });
});

afterEach(async () => {
  await removeDir(dir);
});

describe('RecordStore', () => {
  it('keeps a put record in memory and in one file named by its ID', async () => {
    const store = newStore();
    await store.put({ id: 'a', value: 1 });
    expect(store.get('a')).toEqual({ id: 'a', value: 1 });
    expect(JSON.parse(await readFile(path.join(recordsDir, 'a.json'), 'utf8'))).toEqual({ formatVersion: 1, id: 'a', value: 1 });
  });

  it('replaces a record without leaving a temp file', async () => {
    const store = newStore();
    await store.put({ id: 'a', value: 1 });
    await store.put({ id: 'a', value: 2 });
    expect(await readdir(recordsDir)).toEqual(['a.json']);
    expect(store.get('a')?.value).toBe(2);
  });

  it('deletes the record and its file; deleting again is fine', async () => {
    const store = newStore();
    await store.put({ id: 'a', value: 1 });
    await store.delete('a');
    await store.delete('a');
    expect(store.get('a')).toBeUndefined();
    expect(await readdir(recordsDir)).toEqual([]);
  });

  it('loads what another store wrote', async () => {
    const writer = newStore();
    await writer.put({ id: 'a', value: 1 });
    await writer.put({ id: 'b', value: 2 });
    const reader = newStore();
    const report = await reader.load(log);
    expect(report).toEqual({ loaded: 2, quarantined: [], tempFilesRemoved: 0, replayed: 2 });
    expect([...reader.values()].sort((x, y) => x.id.localeCompare(y.id))).toEqual([{ id: 'a', value: 1 }, { id: 'b', value: 2 }]);
  });

  it('moves a torn record to the quarantine directory, unchanged, and reports it', async () => {
    await writeFile(path.join(recordsDir, 'torn.json'), '{"id":"torn","val');
    const store = newStore();
    const report = await store.load(log);
    expect(report.quarantined).toEqual(['torn']);
    expect(store.get('torn')).toBeUndefined();
    expect(await readdir(recordsDir)).toEqual([]);
    const moved = await readdir(quarantineDir);
    expect(moved).toHaveLength(1);
    expect(await readFile(path.join(quarantineDir, moved[0]!), 'utf8')).toBe('{"id":"torn","val');
  });

  it('quarantines a record of the wrong shape', async () => {
    await writeFile(path.join(recordsDir, 'a.json'), JSON.stringify({ id: 'a', value: 'one' }));
    const report = await newStore().load(log);
    expect(report.quarantined).toEqual(['a']);
    expect(await readdir(quarantineDir)).toHaveLength(1);
  });

  it('quarantines a record whose ID does not match its file name', async () => {
    await writeFile(path.join(recordsDir, 'b.json'), JSON.stringify({ id: 'c', value: 1 }));
    const store = newStore();
    const report = await store.load(log);
    expect(report.quarantined).toEqual(['b']);
    expect(store.get('b')).toBeUndefined();
    expect(store.get('c')).toBeUndefined();
  });

  it('still loads the good records next to a bad one', async () => {
    await writeFile(path.join(recordsDir, 'bad.json'), 'garbage');
    await writeFile(path.join(recordsDir, 'good.json'), JSON.stringify({ id: 'good', value: 1 }));
    const store = newStore();
    const report = await store.load(log);
    expect(report.loaded).toBe(1);
    expect(store.get('good')).toEqual({ id: 'good', value: 1 });
  });

  it('removes leftover temp files and keeps the record they were replacing', async () => {
    await writeFile(path.join(recordsDir, 'a.json'), JSON.stringify({ id: 'a', value: 1 }));
    await writeFile(path.join(recordsDir, 'a.json.tmp-123-4'), '{"id":"a","va');
    const store = newStore();
    const report = await store.load(log);
    expect(report).toEqual({ loaded: 1, quarantined: [], tempFilesRemoved: 1, replayed: 0 });
    expect(await readdir(recordsDir)).toEqual(['a.json']);
    expect(store.get('a')?.value).toBe(1);
  });

  it('keeps a record whose ID merely contains ".tmp-" (a valid object ID) across a reload', async () => {
    await newStore().put({ id: 'backup.tmp-1', value: 1 });
    const store = newStore();
    const report = await store.load(log);
    expect(report.tempFilesRemoved).toBe(0);
    expect(store.get('backup.tmp-1')).toEqual({ id: 'backup.tmp-1', value: 1 });
  });

  it('creates its directory when it does not exist yet', async () => {
    recordsDir = path.join(dir, 'not-yet');
    const report = await newStore().load(log);
    expect(report.loaded).toBe(0);
    expect(await readdir(recordsDir)).toEqual([]);
  });
});

describe('readRecordFile', () => {
  it('answers null for a missing file and the record for a present one', async () => {
    const store = newStore();
    await store.put({ id: 'a', value: 3 });
    expect(await readRecordFile(store.fileOf('missing'), parseItem)).toBeNull();
    expect(await readRecordFile(store.fileOf('a'), parseItem)).toEqual({ id: 'a', value: 3 });
  });
});

describe('RecordStore quarantine across loads', () => {
  it('recalls a record quarantined by an earlier load, however many loads follow', async () => {
    await writeFile(path.join(recordsDir, 'torn.json'), '{"id":"to');
    await newStore().load(log);
    for (let i = 0; i < 3; i++) {
      const store = newStore();
      await store.load(log);
      expect([...store.quarantined.keys()]).toEqual(['torn']);
      expect(store.quarantined.get('torn')).toMatch(/quarantine\/items-torn-\d+\.json$/);
    }
  });

  it('forgets a settled quarantined record on the next load, and keeps its file as *.settled', async () => {
    await writeFile(path.join(recordsDir, 'torn.json'), '{"id":"to');
    const first = newStore();
    await first.load(log);
    expect(await first.settleQuarantined('torn')).toBe(true);
    const again = newStore();
    await again.load(log);
    expect(again.quarantined.size).toBe(0);
    expect((await readdir(quarantineDir)).filter((n) => n.endsWith('.json.settled'))).toHaveLength(1);
  });

  it('no longer recalls an ID whose record was put back in the record folder', async () => {
    await writeFile(path.join(recordsDir, 'a.json'), '{"id":');
    await newStore().load(log);
    await writeFile(path.join(recordsDir, 'a.json'), JSON.stringify({ id: 'a', value: 7 }));
    const store = newStore();
    await store.load(log);
    expect(store.quarantined.size).toBe(0);
    expect(store.get('a')).toEqual({ id: 'a', value: 7 });
  });
});
