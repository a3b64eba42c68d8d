import { mkdir, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirSyncer } from '../../../src/state/dir-sync';
import { decodeSegment, encodeEntry, type OpenSegment } from '../../../src/state/journal';
import { RecordStore } from '../../../src/state/record-store';
import { makeTempDir, removeDir, silentLogger } from '../../helpers/fakes';
import { parseItem, type Item } from '../../helpers/state-items';


const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: injected`), { code });

/** What the fake segment file does wrong next. */
interface Faults {
  /** The next append writes half its bytes, then its next write fails with ENOSPC (a disk filling mid-write). */
  shortThenNoSpace: boolean;
  /** The next fdatasync fails with ENOSPC (after the bytes reached the file). */
  datasyncNoSpace: boolean;
  /** Cutting the segment back fails too (EIO). */
  truncateFails: boolean;
}

let dir: string;
let recordsDir: string;
let journalDir: string;
let faults: Faults;
const log = silentLogger();

/** A real segment file whose writes, syncs and truncates fail as `faults` says: the journal's own seam. */
const openFaulty: OpenSegment = async (file) => {
  const h = await open(file, 'a', 0o600);
  let cut = false;
  return {
    write: async (buf, offset, length, position) => {
      if (faults.shortThenNoSpace && !cut) {
        cut = true;
        return h.write(buf, offset, Math.floor(length / 2), position);
      }
      if (faults.shortThenNoSpace) {
        faults.shortThenNoSpace = false;
        cut = false;
        throw errno('ENOSPC');
      }
      return h.write(buf, offset, length, position);
    },
    datasync: async () => {
      if (faults.datasyncNoSpace) {
        faults.datasyncNoSpace = false;
        throw errno('ENOSPC');
      }
      return h.datasync();
    },
    sync: () => h.sync(),
    truncate: async (n) => {
      if (faults.truncateFails) throw errno('EIO');
      return h.truncate(n);
    },
    stat: () => h.stat(),
    close: () => h.close(),
  };
};

const newStore = (): RecordStore<Item> =>
  new RecordStore<Item>(recordsDir, path.join(dir, 'quarantine'), parseItem, new DirSyncer(), {
    checkpointEntries: 1_000_000,
    checkpointIdleMs: 3_600_000,
    openSegment: openFaulty,
  });

/** A crash right after the last acknowledgement, with every record file lost: the journal alone must bring back every acknowledged change. */
async function replayAfterLosingRecords(): Promise<{ store: RecordStore<Item>; replayed: number }> {
  await rm(recordsDir, { recursive: true, force: true });
  await mkdir(recordsDir);
  const store = newStore();
  const report = await store.load(log);
  return { store, replayed: report.replayed };
}

const segmentTexts = async (): Promise<string[]> => {
  const names = (await readdir(journalDir)).sort();
  return Promise.all(names.map((n) => readFile(path.join(journalDir, n), 'utf8')));
};

beforeEach(async () => {
  dir = await makeTempDir();
  recordsDir = path.join(dir, 'records', 'items');
  journalDir = `${recordsDir}.journal`;
  await mkdir(recordsDir, { recursive: true });
  faults = { shortThenNoSpace: false, datasyncNoSpace: false, truncateFails: false };
});

afterEach(async () => {
  await removeDir(dir);
});

describe('a failed journal append (issue 13, defect 5)', () => {
  it('a short write then ENOSPC: the change fails, the segment is cut back, later changes are acknowledged and replayed', async () => {
    const store = newStore();
    await store.put({ id: 'a', value: 1 });
    faults.shortThenNoSpace = true;
    await expect(store.put({ id: 'b', value: 2 })).rejects.toMatchObject({ code: 'ENOSPC' });
    await store.put({ id: 'c', value: 3 });
    const [segment, ...more] = await segmentTexts();
    expect(more).toEqual([]);
    expect(decodeSegment(segment!)).toEqual({ entries: [
      { op: 'put', id: 'a', record: { formatVersion: 1, id: 'a', value: 1 } },
      { op: 'put', id: 'c', record: { formatVersion: 1, id: 'c', value: 3 } },
    ], corrupt: false });
    const { store: after } = await replayAfterLosingRecords();
    expect([...after.values()].sort((x, y) => x.id.localeCompare(y.id))).toEqual([{ id: 'a', value: 1 }, { id: 'c', value: 3 }]);
  });

  it('an ENOSPC from fdatasync: the bytes that did reach the file are cut back before the next change is acknowledged', async () => {
    const store = newStore();
    await store.put({ id: 'a', value: 1 });
    faults.datasyncNoSpace = true;
    await expect(store.delete('a')).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(store.get('a')).toEqual({ id: 'a', value: 1 });
    await store.put({ id: 'b', value: 2 });
    expect(decodeSegment((await segmentTexts())[0]!).entries.map((e) => `${e.op} ${e.id}`)).toEqual(['put a', 'put b']);
    const { store: after } = await replayAfterLosingRecords();
    expect(after.get('a')).toEqual({ id: 'a', value: 1 });
    expect(after.get('b')).toEqual({ id: 'b', value: 2 });
  });

  it('a change that failed leaves its record file as before (a restart does not act on it)', async () => {
    const store = newStore();
    await store.put({ id: 'a', value: 1 });
    faults.shortThenNoSpace = true;
    await expect(store.put({ id: 'a', value: 2 })).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(JSON.parse(await readFile(store.fileOf('a'), 'utf8'))).toEqual({ formatVersion: 1, id: 'a', value: 1 });
    faults.shortThenNoSpace = true;
    await expect(store.put({ id: 'new', value: 5 })).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(await readdir(recordsDir)).toEqual(['a.json']);
  });

  it('when the segment cannot be cut back, it is closed and later changes go to a new segment; replay loses none of them', async () => {
    const store = newStore();
    await store.put({ id: 'a', value: 1 });
    faults.shortThenNoSpace = true;
    faults.truncateFails = true;
    await expect(store.put({ id: 'b', value: 2 })).rejects.toMatchObject({ code: 'ENOSPC' });
    faults.truncateFails = false;
    await store.put({ id: 'c', value: 3 });
    await store.put({ id: 'd', value: 4 });
    const names = (await readdir(journalDir)).sort();
    expect(names).toContain('000000000002.log');
    const texts = await segmentTexts();
    expect(decodeSegment(texts[texts.length - 1]!).entries.map((e) => e.id)).toEqual(['c', 'd']);
    const { store: after } = await replayAfterLosingRecords();
    expect(after.get('c')).toEqual({ id: 'c', value: 3 });
    expect(after.get('d')).toEqual({ id: 'd', value: 4 });
  });
});

describe('replay of a segment with a damaged line in the middle', () => {
  const a = encodeEntry({ op: 'put', id: 'a', record: { id: 'a', value: 1 } });
  const b = encodeEntry({ op: 'put', id: 'b', record: { id: 'b', value: 2 } });
  const c = encodeEntry({ op: 'put', id: 'c', record: { id: 'c', value: 3 } });

  it('applies every intact entry after the damage, and keeps the segment as *.corrupt', async () => {
    await mkdir(journalDir);
    await writeFile(path.join(journalDir, '000000000001.log'), a + b.replace('"value":2', '"value":9') + c);
    const store = newStore();
    await store.load(log);
    expect(store.get('a')).toEqual({ id: 'a', value: 1 });
    expect(store.get('b')).toBeUndefined();
    expect(store.get('c')).toEqual({ id: 'c', value: 3 });
    expect(await readdir(journalDir)).toEqual(['000000000001.log.corrupt']);
  });

  it('recovers the whole entry written after a torn append on the same line (what an older driver left)', () => {
    const torn = b.slice(0, 25);
    const decoded = decodeSegment(a + torn + c);
    expect(decoded.corrupt).toBe(true);
    expect(decoded.entries.map((e) => e.id)).toEqual(['a', 'c']);
  });
});
