import { status } from '@grpc/grpc-js';
import { lstat, mkdir, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  blockCap,
  createVolumeRequest,
  deleteVolumeRequest,
  expectCode,
  invoke,
  makeTempDir,
  mountCap,
  removeDir,
  stageRequest,
  startDriver,
  unstageRequest,
  type TestDriver,
} from '../../helpers/fakes';

let d: TestDriver;
let outside: string;
let disk: string;

beforeEach(async () => {
  outside = await makeTempDir();
  disk = path.join(outside, 'disk2');
  await mkdir(disk);
  d = await startDriver({ 'volume-roots': `disk2=${disk},gone=${path.join(outside, 'missing')}` });
});

afterEach(async () => {
  await d.cleanup();
  await removeDir(outside);
});

const pvc = (namespace: string, name: string) => ({ 'csi.storage.k8s.io/pvc/namespace': namespace, 'csi.storage.k8s.io/pvc/name': name });
const rooted = (extra: Record<string, string> = {}) => ({ root: 'disk2', dirPattern: '{pvc.namespace}_{pvc.name}', ...pvc('team-a', 'data'), ...extra });
const create = async (name: string, parameters: Record<string, string>, caps = [mountCap()]) =>
  (await invoke(d.controller.CreateVolume, createVolumeRequest(name, { parameters, volume_capabilities: caps }))).volume?.volume_id ?? '';
const recordOf = async (id: string) => JSON.parse(await readFile(d.layout.volumeRecordFile(id), 'utf8')) as Record<string, unknown>;

describe('CreateVolume with root and dirPattern', () => {
  it('makes the directory under the named root, named from the PVC, and records its real path', async () => {
    const id = await create('pvc-1', rooted());
    expect((await stat(path.join(disk, 'team-a_data'))).isDirectory()).toBe(true);
    expect(await recordOf(id)).toMatchObject({ id, dataDir: path.join(disk, 'team-a_data') });
    expect(await readdir(d.layout.volumesDir)).toEqual([]);
  });

  it('answers the same volume and directory for a retry of the same name', async () => {
    const first = await create('pvc-1', rooted());
    expect(await create('pvc-1', rooted())).toBe(first);
    expect(await readdir(disk)).toEqual(['team-a_data']);
  });

  it('gives a second volume whose name sanitises alike the volume ID as suffix', async () => {
    await create('pvc-1', rooted());
    const second = await create('pvc-2', rooted());
    expect((await readdir(disk)).sort()).toEqual(['team-a_data', `team-a_data-${second}`]);
    expect((await recordOf(second))['dataDir']).toBe(path.join(disk, `team-a_data-${second}`));
  });

  it('never adopts a directory that was already there, and leaves it when the volume is deleted', async () => {
    await mkdir(path.join(disk, 'team-a_data'));
    await writeFile(path.join(disk, 'team-a_data', 'keep'), 'admin data');
    const id = await create('pvc-1', rooted());
    await invoke(d.controller.DeleteVolume, deleteVolumeRequest(id));
    expect(await readdir(disk)).toEqual(['team-a_data']);
    expect(await readFile(path.join(disk, 'team-a_data', 'keep'), 'utf8')).toBe('admin data');
  });

  it('sanitises the name: only [A-Za-z0-9._-], never a leading dot', async () => {
    const id = await create('pvc-1', { root: 'disk2', dirPattern: '{pvc.name}', ...pvc('ns', '../etc/x y') });
    expect((await recordOf(id))['dataDir']).toBe(path.join(disk, '___etc_x_y'));
  });

  it('names the directory after the CreateVolume name when no pattern is given', async () => {
    const id = await create('pvc-0c1d', { root: 'disk2' });
    expect((await recordOf(id))['dataDir']).toBe(path.join(disk, 'pvc-0c1d'));
  });

  it('gives the rooted directory the mode the class names', async () => {
    await create('pvc-1', rooted({ dirMode: '0750' }));
    expect((await stat(path.join(disk, 'team-a_data'))).mode & 0o7777).toBe(0o750);
  });

  it('removes the directory under the root at DeleteVolume', async () => {
    const id = await create('pvc-1', rooted());
    await invoke(d.controller.DeleteVolume, deleteVolumeRequest(id));
    expect(await readdir(disk)).toEqual([]);
  });

  it('answers FAILED_PRECONDITION at DeleteVolume and removes nothing when the directory became a symlink out of the root', async () => {
    const id = await create('pvc-1', rooted());
    const victim = path.join(outside, 'victim');
    await mkdir(victim);
    await writeFile(path.join(victim, 'f'), 'x');
    await rm(path.join(disk, 'team-a_data'), { recursive: true });
    await symlink(victim, path.join(disk, 'team-a_data'));
    const failure = await expectCode(invoke(d.controller.DeleteVolume, deleteVolumeRequest(id)), status.FAILED_PRECONDITION);
    expect(failure.details).toContain('no longer resolves under');
    expect(await readFile(path.join(victim, 'f'), 'utf8')).toBe('x');
    expect((await lstat(path.join(disk, 'team-a_data'))).isSymbolicLink()).toBe(true);
  });
});

describe('CreateVolume refuses a placement it cannot honour, and creates nothing', () => {
  it.each([
    [{ root: 'disk3' }, 'parameter root "disk3" is not one of this node\'s --volume-roots (disk2, gone)'],
    [{ dirPattern: '{pv}' }, 'parameter dirPattern needs parameter root (volumes in the state directory are named by their ID)'],
    [{ root: 'disk2', dirPattern: '{pvc.uid}' }, 'parameter dirPattern "{pvc.uid}" may use only {pvc.namespace}, {pvc.name}, {pv}'],
    [{ root: 'disk2', dirPattern: '{pvc.name}' }, 'parameter dirPattern uses {pvc.name}, which this request does not carry (is external-provisioner run with --extra-create-metadata?)'],
    [{ root: 'disk2', sizeLimit: 'quota' }, 'parameter root applies to dir volumes only (sizeLimit none, mount access), not to quota volumes'],
  ])('INVALID_ARGUMENT for %j', async (parameters, message) => {
    const failure = await expectCode(create('pvc-x', parameters), status.INVALID_ARGUMENT);
    expect(failure.details).toBe(message);
    expect(await readdir(disk)).toEqual([]);
    expect(await readdir(d.layout.volumeRecordsDir).catch(() => [])).toEqual([]);
  });

  it('INVALID_ARGUMENT for a root on a raw block volume', async () => {
    const failure = await expectCode(create('pvc-x', { root: 'disk2' }, [blockCap()]), status.INVALID_ARGUMENT);
    expect(failure.details).toBe('parameter root applies to dir volumes only (sizeLimit none, mount access), not to block volumes');
  });

  it('FAILED_PRECONDITION when the configured root is not a directory on this node', async () => {
    const failure = await expectCode(create('pvc-x', { root: 'gone' }), status.FAILED_PRECONDITION);
    expect(failure.details).toBe(`volume root gone (${path.join(outside, 'missing')}) is not a directory on this node`);
  });
});

describe('a rooted volume on the node', () => {
  it('is staged from its directory under the root, recognised as ours on retry, and unstaged', async () => {
    const id = await create('pvc-1', rooted());
    const staging = path.join(d.dir, 'kubelet', 'staging', 'pv1');
    await invoke(d.node.NodeStageVolume, stageRequest(id, staging));
    await invoke(d.node.NodeStageVolume, stageRequest(id, staging));
    expect(d.mounter.binds.map((b) => [b.source, b.target])).toEqual([[path.join(disk, 'team-a_data'), staging]]);
    await invoke(d.node.NodeUnstageVolume, unstageRequest(id, staging));
    expect(d.mounter.entries.filter((e) => e.mountPoint === staging)).toEqual([]);
  });
});
