import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirSyncer, fsyncPath } from '../../../src/state/dir-sync';
import { makeTempDir, removeDir } from '../../helpers/fakes';

// Count fsyncs at DirSyncer's injected fsync (the real one underneath), not by mocking node:fs.
const opened: string[] = [];
const countingFsync = (p: string): Promise<void> => {
  opened.push(p);
  return fsyncPath(p);
};

let dir: string;

beforeEach(async () => {
  dir = await makeTempDir();
  opened.length = 0;
});

afterEach(async () => {
  await removeDir(dir);
});

const syncsOf = (d: string) => opened.filter((p) => p === d).length;

describe('DirSyncer', () => {
  it('fsyncs a directory once for a lone caller', async () => {
    await new DirSyncer(countingFsync).sync(dir);
    expect(syncsOf(dir)).toBe(1);
  });

  it('serves many concurrent callers of one directory with two fsyncs, and resolves every caller', async () => {
    const syncer = new DirSyncer(countingFsync);
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => syncer.sync(dir)));
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
    expect(syncsOf(dir)).toBe(2);
  });

  it('starts a fresh fsync for a caller that arrives after the others finished', async () => {
    const syncer = new DirSyncer(countingFsync);
    await Promise.all([syncer.sync(dir), syncer.sync(dir), syncer.sync(dir)]);
    await syncer.sync(dir);
    expect(syncsOf(dir)).toBe(3);
  });

  it('does not share fsyncs between directories', async () => {
    const other = path.join(dir, 'other');
    await mkdir(other);
    const syncer = new DirSyncer(countingFsync);
    await Promise.all([syncer.sync(dir), syncer.sync(other), syncer.sync(dir), syncer.sync(other)]);
    expect(syncsOf(dir)).toBe(2);
    expect(syncsOf(other)).toBe(2);
  });

  it('rejects the callers of a failed fsync and still serves later ones', async () => {
    const missing = path.join(dir, 'missing');
    const syncer = new DirSyncer(countingFsync);
    const results = await Promise.allSettled([syncer.sync(missing), syncer.sync(missing)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    await mkdir(missing);
    await expect(syncer.sync(missing)).resolves.toBeUndefined();
  });
});
