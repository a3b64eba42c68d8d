import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SpaceReserve } from '../../../src/state/space-reserve';
import { makeTempDir, removeDir, silentLogger } from '../../helpers/fakes';

let dir: string;
let reserve: SpaceReserve;
const noSpace = (): NodeJS.ErrnoException => Object.assign(new Error('ENOSPC: injected'), { code: 'ENOSPC' });

beforeEach(async () => {
  dir = await makeTempDir();
  reserve = new SpaceReserve(path.join(dir, 'space-reserve.all'), silentLogger(), 64 * 1024);
});

afterEach(async () => {
  await removeDir(dir);
});

describe('SpaceReserve', () => {
  it('makes a reserve file of its size, with its blocks allocated', async () => {
    await reserve.ensure();
    const st = await stat(reserve.file);
    expect(st.size).toBe(64 * 1024);
    expect(st.blocks * 512).toBeGreaterThanOrEqual(64 * 1024);
  });

  it('a change that frees space and hits ENOSPC spends the reserve and is tried once more', async () => {
    await reserve.ensure();
    let tries = 0;
    const result = await reserve.spend(true, async () => {
      if (++tries === 1) throw noSpace();
      return 'done';
    });
    expect(result).toBe('done');
    expect(tries).toBe(2);
    expect(await readdir(dir)).toEqual([]);
  });

  it('a change that needs space never spends the reserve', async () => {
    await reserve.ensure();
    await expect(reserve.spend(false, () => Promise.reject(noSpace()))).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(await readdir(dir)).toEqual(['space-reserve.all']);
  });

  it('a change that needs space first makes the reserve again after it was spent', async () => {
    await reserve.ensure();
    await reserve.release();
    await reserve.spend(false, () => Promise.resolve());
    expect((await stat(reserve.file)).size).toBe(64 * 1024);
  });

  it('requireRoom leaves no probe file behind', async () => {
    await reserve.requireRoom();
    expect(await readdir(dir)).toEqual(['space-reserve.all']);
  });
});
