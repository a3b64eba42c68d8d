import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseQuarantineName, readStore } from '../../../src/cli/state-reader';
import { encodeEntry } from '../../../src/state/journal';
import { parseAttachmentRecord } from '../../../src/volumes/model';
import { makeTempDir, removeDir } from '../../helpers/fakes';

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir();
});
afterEach(async () => {
  await removeDir(dir);
});

const att = (id: string, nodeId = 'n1'): Record<string, unknown> => ({ formatVersion: 1, id, volumeId: 'v', nodeId, readonly: false, mode: 'SINGLE_NODE_WRITER', createdAt: '2026-01-01T00:00:00.000Z' });

describe('readStore', () => {
  it('replays the journal over the files in memory: a torn file the journal rewrites is not reported, a deleted record is gone', async () => {
    const store = path.join(dir, 'attachments');
    await mkdir(store);
    await mkdir(`${store}.journal`);
    await writeFile(path.join(store, 'a.json'), JSON.stringify(att('a')));
    await writeFile(path.join(store, 'b.json'), '{"id":"b","vol');
    await writeFile(path.join(store, 'c.json'), JSON.stringify(att('c')));
    await writeFile(path.join(store, 'c.json.tmp-1-2'), 'half');
    const segment = [encodeEntry({ op: 'put', id: 'b', record: att('b', 'n2') }), encodeEntry({ op: 'delete', id: 'c' }), 'torn tail'].join('');
    await writeFile(path.join(`${store}.journal`, '000000000001.log'), segment);
    const view = await readStore(store, parseAttachmentRecord);
    expect([...view.records.keys()].sort()).toEqual(['a', 'b']);
    expect(view.records.get('b')?.nodeId).toBe('n2');
    expect(view.unreadable).toEqual([]);
    expect(view.journaled).toBe(2);
  });

  it('reports a record it cannot parse, with the reason, and a missing store as empty', async () => {
    const store = path.join(dir, 'attachments');
    await mkdir(store);
    await writeFile(path.join(store, 'x.json'), JSON.stringify({ ...att('x'), mode: 'SOMETIMES' }));
    const view = await readStore(store, parseAttachmentRecord);
    expect(view.unreadable).toEqual([{ store: 'attachments', id: 'x', file: path.join(store, 'x.json'), reason: 'field mode has unknown value "SOMETIMES"' }]);
    expect((await readStore(path.join(dir, 'nothing'), parseAttachmentRecord)).records.size).toBe(0);
  });
});

describe('parseQuarantineName', () => {
  it('reads store, ID (dashes and all), time and settled from the names the store gives', () => {
    expect(parseQuarantineName('group-snapshots-g-1-1700000000000.json')).toEqual({ store: 'group-snapshots', id: 'g-1', at: '2023-11-14T22:13:20.000Z', settled: false });
    expect(parseQuarantineName('attachments-v.abc-1700000000000.json.settled')).toMatchObject({ store: 'attachments', id: 'v.abc', settled: true });
    expect(parseQuarantineName('node-x.json.tmp-1-2-1700000000000.stray')).toBeNull();
  });
});
