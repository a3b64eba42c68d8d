import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirSyncer } from '../../../src/state/dir-sync';
import { encodeEntry } from '../../../src/state/journal';
import { RECORD_FORMAT_VERSION } from '../../../src/state/record-fields';
import { readRecordFile, RecordStore } from '../../../src/state/record-store';
import { makeTempDir, removeDir, silentLogger } from '../../helpers/fakes';
import { parseItem, type Item } from '../../helpers/state-items';

/** The format version in state records: written on every record, absent means 1, newer is never misread. */


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

describe('state record format version', () => {
  it('is 1 in this build', () => {
    expect(RECORD_FORMAT_VERSION).toBe(1);
  });

  it('is written into every record file, and is not part of the record in memory', async () => {
    const store = newStore();
    await store.put({ id: 'a', value: 1 });
    expect(JSON.parse(await readFile(path.join(recordsDir, 'a.json'), 'utf8'))).toEqual({ formatVersion: 1, id: 'a', value: 1 });
    expect(store.get('a')).toEqual({ id: 'a', value: 1 });
  });

  it('is written into journaled records too', async () => {
    const store = newStore();
    await store.put({ id: 'a', value: 1 });
    const [segment] = await readdir(`${recordsDir}.journal`);
    const text = await readFile(path.join(`${recordsDir}.journal`, segment!), 'utf8');
    expect(text).toContain(encodeEntry({ op: 'put', id: 'a', record: { formatVersion: 1, id: 'a', value: 1 } }));
  });

  it('absent (a record written before the field existed) reads as version 1', async () => {
    await writeFile(path.join(recordsDir, 'old.json'), JSON.stringify({ id: 'old', value: 7 }));
    const store = newStore();
    const report = await store.load(log);
    expect(report.loaded).toBe(1);
    expect(report.quarantined).toEqual([]);
    expect(store.get('old')).toEqual({ id: 'old', value: 7 });
  });

  it('1 written explicitly loads', async () => {
    await writeFile(path.join(recordsDir, 'a.json'), JSON.stringify({ formatVersion: 1, id: 'a', value: 2 }));
    const store = newStore();
    await store.load(log);
    expect(store.get('a')).toEqual({ id: 'a', value: 2 });
  });

  it('newer than this build: the record is quarantined with its content intact, not misread or deleted', async () => {
    const newer = JSON.stringify({ formatVersion: 2, id: 'a', value: 3, renamedField: 'x' });
    await writeFile(path.join(recordsDir, 'a.json'), newer);
    const store = newStore();
    const report = await store.load(log);
    expect(report.quarantined).toEqual(['a']);
    expect(store.get('a')).toBeUndefined();
    expect(await readdir(recordsDir)).toEqual([]);
    const moved = await readdir(quarantineDir);
    expect(moved).toHaveLength(1);
    expect(moved[0]).toMatch(/^items-a-\d+\.json$/);
    expect(await readFile(path.join(quarantineDir, moved[0]!), 'utf8')).toBe(newer);
    expect(store.quarantined.get('a')).toBe(path.join(quarantineDir, moved[0]!));
  });

  it('not a positive integer: the record is quarantined', async () => {
    for (const [id, v] of [['s', '1'], ['z', 0], ['f', 1.5]] as const) {
      await writeFile(path.join(recordsDir, `${id}.json`), JSON.stringify({ formatVersion: v, id, value: 1 }));
    }
    const report = await newStore().load(log);
    expect(report.quarantined.sort()).toEqual(['f', 's', 'z']);
  });

  it('newer in a record read straight from disk (a node process): refused with a message naming the versions', async () => {
    const file = path.join(recordsDir, 'a.json');
    await writeFile(file, JSON.stringify({ formatVersion: 5, id: 'a', value: 3 }));
    await expect(readRecordFile(file, parseItem)).rejects.toThrow('record format version 5 is newer than this build reads (1)');
  });

  it('newer in a journaled record: start-up refuses, naming the versions, and leaves the journal for a newer build', async () => {
    const journalDir = `${recordsDir}.journal`;
    await mkdir(journalDir);
    const segment = path.join(journalDir, '000000000001.log');
    await writeFile(segment, encodeEntry({ op: 'put', id: 'a', record: { formatVersion: 2, id: 'a', value: 3 } }));
    await expect(newStore().load(log)).rejects.toThrow('record format version 2 is newer than this build reads (1)');
    expect(await readdir(recordsDir)).toEqual([]);
    expect(await readdir(journalDir)).toEqual(['000000000001.log']);
  });
});
