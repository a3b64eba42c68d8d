import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, open, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirSyncer } from '../../src/state/dir-sync';
import { decodeSegment, Journal, type JournalEntry } from '../../src/state/journal';
import { isRoot, NEEDS_ROOT } from '../helpers/driver-process';

const run = promisify(execFile);

/**
 * Issue 13, defect 5, on a real filesystem: a journal segment on a small tmpfs that fills up. An append that crosses
 * into a page the filesystem cannot give is a real short write followed by ENOSPC. Every acknowledged entry must be
 * in the segment, whole and in order, with no torn line among them, also after appends resume once space returns.
 */
describe.skipIf(!isRoot)(`journal appends on a filesystem that fills up${NEEDS_ROOT}`, () => {
  let root = '';
  let mnt = '';

  beforeAll(async () => {
    root = await mkdtemp('/tmp/hpcsi-journal-');
    mnt = path.join(root, 'mnt');
    await mkdir(mnt);
    await run('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt]);
  });

  afterAll(async () => {
    await run('umount', [mnt]).catch(() => run('umount', ['-l', mnt]));
    await rm(root, { recursive: true, force: true });
  });

  it('keeps exactly the acknowledged entries, whole and in order, through ENOSPC mid-append', async () => {
    const dir = path.join(mnt, 'items.journal');
    const journal = new Journal(dir, new DirSyncer(), async () => undefined, { checkpointEntries: 1_000_000, checkpointIdleMs: 3_600_000 });
    const entry = (i: number): JournalEntry => ({ op: 'put', id: `id-${i}`, record: { id: `id-${i}`, pad: 'x'.repeat(300) } });
    const acknowledged: string[] = [];
    const failed: string[] = [];
    let i = 0;
    const append = async (): Promise<boolean> => {
      const e = entry(i++);
      return journal.append(e).then(
        () => (acknowledged.push(e.id), true),
        (err: NodeJS.ErrnoException) => {
          expect(err.code).toBe('ENOSPC');
          failed.push(e.id);
          return false;
        },
      );
    };
    await append();
    const filler = await open(path.join(mnt, 'filler'), 'w');
    const chunk = Buffer.alloc(4096, 1);
    while (await filler.write(chunk).then(() => true, () => false));
    while (await filler.write(chunk, 0, 1).then(() => true, () => false));
    await filler.close();
    let failures = 0;
    while (failures < 3 && i < 1000) if (!(await append())) failures++;
    expect(failed.length).toBeGreaterThan(0);
    await rm(path.join(mnt, 'filler'));
    for (let k = 0; k < 5; k++) expect(await append()).toBe(true);
    const [segment, ...others] = await readdir(dir);
    expect(others).toEqual([]);
    const decoded = decodeSegment(await readFile(path.join(dir, segment!), 'utf8'));
    expect(decoded.corrupt).toBe(false);
    expect(decoded.entries.map((e) => e.id)).toEqual(acknowledged);
  });
});
