import { status } from '@grpc/grpc-js';
import { readdir, stat } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { blockCap, createVolumeRequest, expectCode, invoke, mountCap, type TestDriver, startDriver } from '../../helpers/fakes';

let d: TestDriver;

beforeEach(async () => {
  d = await startDriver();
});

afterEach(async () => {
  await d.cleanup();
});

const create = (name: string, parameters: Record<string, string>, caps = [mountCap()]) =>
  invoke(d.controller.CreateVolume, createVolumeRequest(name, { parameters, volume_capabilities: caps }));

async function rootOf(parameters: Record<string, string>): Promise<{ mode: number; uid: number; gid: number }> {
  const res = await create('pvc-own', parameters);
  const s = await stat(d.layout.volumeDataDir(res.volume?.volume_id ?? ''));
  return { mode: s.mode & 0o7777, uid: s.uid, gid: s.gid };
}

describe('CreateVolume: mode and owner of a new volume root (dirMode, dirUid, dirGid)', () => {
  it('leaves a root 0777 and owned by the driver when the class names nothing', async () => {
    expect(await rootOf({})).toEqual({ mode: 0o777, uid: process.getuid!(), gid: process.getgid!() });
  });

  it('gives a dir volume root the mode the class names, setgid included', async () => {
    expect((await rootOf({ dirMode: '2750' })).mode).toBe(0o2750);
  });

  it.skipIf(process.getuid?.() !== 0)('gives a dir volume root the uid and gid the class names (needs root)', async () => {
    expect(await rootOf({ dirMode: '0750', dirUid: '1234', dirGid: '5678' })).toEqual({ mode: 0o750, uid: 1234, gid: 5678 });
  });

  it('gives a quota volume root the mode the class names', async () => {
    expect((await rootOf({ sizeLimit: 'quota', dirMode: '0700' })).mode).toBe(0o700);
  });

  it('keeps the mode on a retry of the same create', async () => {
    await rootOf({ dirMode: '0705' });
    expect((await rootOf({ dirMode: '0705' })).mode).toBe(0o705);
  });

  it.each([
    [{ dirMode: '999' }, 'dirMode'],
    [{ dirMode: '0o750' }, 'dirMode'],
    [{ dirMode: '10750' }, 'dirMode'],
    [{ dirUid: '-1' }, 'dirUid'],
    [{ dirUid: '4294967295' }, 'dirUid'],
    [{ dirGid: 'staff' }, 'dirGid'],
  ])('answers INVALID_ARGUMENT for %j and creates nothing', async (parameters, key) => {
    const failure = await expectCode(create('pvc-bad', parameters), status.INVALID_ARGUMENT);
    expect(failure.details).toContain(key);
    expect(await readdir(d.layout.volumesDir)).toEqual([]);
  });

  it('answers INVALID_ARGUMENT for ownership keys on a raw block volume', async () => {
    const failure = await expectCode(create('pvc-blk', { dirMode: '0750' }, [blockCap()]), status.INVALID_ARGUMENT);
    expect(failure.details).toBe('parameters dirMode apply to dir and quota volumes only, not to block volumes');
  });

  it('answers INVALID_ARGUMENT for ownership keys on an image volume', async () => {
    const failure = await expectCode(create('pvc-img', { sizeLimit: 'image', dirUid: '1000' }), status.INVALID_ARGUMENT);
    expect(failure.details).toBe('parameters dirUid apply to dir and quota volumes only, not to image volumes');
  });
});
