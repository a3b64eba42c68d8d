import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DirSyncer } from '../../../src/state/dir-sync';
import { makeTempDir, removeDir } from '../../helpers/fakes';

// Count fsyncs by counting directory opens (DirSyncer opens a directory read-only once per fsync).
const opened = vi.hoisted(() => [] as string[]);
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const open: typeof real.open = async (...args) => {
    if (args[1] === 'r') opened.push(String(args[0]));
    return real.open(...args);
  };
  return { ...real, open, default: { ...real, open } };
});

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
    await new DirSyncer().sync(dir);
    expect(syncsOf(dir)).toBe(1);
  });

  it('serves many concurrent callers of one directory with two fsyncs, and resolves every caller', async () => {
    const syncer = new DirSyncer();
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => syncer.sync(dir)));
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
    expect(syncsOf(dir)).toBe(2);
  });

  it('starts a fresh fsync for a caller that arrives after the others finished', async () => {
    const syncer = new DirSyncer();
    await Promise.all([syncer.sync(dir), syncer.sync(dir), syncer.sync(dir)]);
    await syncer.sync(dir);
    expect(syncsOf(dir)).toBe(3);
  });

  it('does not share fsyncs between directories', async () => {
    const other = path.join(dir, 'other');
    await mkdir(other);
    const syncer = new DirSyncer();
    await Promise.all([syncer.sync(dir), syncer.sync(other), syncer.sync(dir), syncer.sync(other)]);
    expect(syncsOf(dir)).toBe(2);
    expect(syncsOf(other)).toBe(2);
  });

  it('rejects the callers of a failed fsync and still serves later ones', async () => {
    const missing = path.join(dir, 'missing');
    const syncer = new DirSyncer();
    const results = await Promise.allSettled([syncer.sync(missing), syncer.sync(missing)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    await mkdir(missing);
    await expect(syncer.sync(missing)).resolves.toBeUndefined();
  });
});
