import { status } from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import { lstat, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Snapshot__Output } from '../../src/generated/csi/v1/Snapshot';
import type { VolumeGroupSnapshot__Output } from '../../src/generated/csi/v1/VolumeGroupSnapshot';
import { call, codeOf } from '../helpers/csi-client';
import {
  allocatedBytes,
  createSnapshot,
  createVolume,
  DataScratch,
  deleteVolume,
  describeTree,
  FIXED_MTIME,
  fromSnapshot,
  fromVolume,
  MiB,
  mutateSampleTree,
  readRange,
  SPARSE_DATA_OFFSET,
  SPARSE_SIZE,
  stageAndPublish,
  unpublishAndUnstage,
  userXattrs,
  writeSampleTree,
  type EntryFacts,
  type Published,
  type SampleTree,
} from '../helpers/data';
import { exists, isRoot, NEEDS_ROOT, type DriverProcess } from '../helpers/driver-process';

const scratch = new DataScratch();

afterAll(() => scratch.expectHostLeftClean());

const hex = (s: string): string => `0x${Buffer.from(s).toString('hex')}`;

describe.skipIf(!isRoot)(`restore of a snapshot of a filesystem volume holding real data${NEEDS_ROOT}`, () => {
  let driver: DriverProcess;
  let source: Published;
  let restored: Published;
  let sample: SampleTree;
  let snapshot: Snapshot__Output;
  let restoredVolumeSource: unknown;
  let atSnapshot: Record<string, EntryFacts>;
  let restoredTree: Record<string, EntryFacts>;
  const file = (p: Published, rel: string): string => path.join(p.targetPath, rel);

  beforeAll(async () => {
    const root = await scratch.dir();
    driver = await scratch.start({ root });
    const vol = await createVolume(driver, { name: 'pv-data', bytes: 128 * MiB });
    source = await stageAndPublish(driver, vol.volume_id, root);
    sample = await writeSampleTree(source.targetPath);
    atSnapshot = await describeTree(source.targetPath);
    snapshot = await createSnapshot(driver, 'snap-data', vol.volume_id);
    await mutateSampleTree(source.targetPath);
    const r = await createVolume(driver, { name: 'pv-restored', bytes: 128 * MiB, source: fromSnapshot(snapshot.snapshot_id) });
    restoredVolumeSource = r.content_source;
    restored = await stageAndPublish(driver, r.volume_id, root);
    restoredTree = await describeTree(restored.targetPath);
  });

  afterAll(async () => {
    for (const p of [source, restored]) await unpublishAndUnstage(driver, p);
    const c = driver.clients.controller;
    await call(c.DeleteSnapshot.bind(c), { snapshot_id: snapshot.snapshot_id });
    for (const p of [source, restored]) await deleteVolume(driver, p.volumeId);
    expect((await driver.stop()).code).toBe(0);
  });

  it('the restored tree equals the source tree at snapshot time, entry by entry and attribute by attribute', () => {
    expect(Object.keys(restoredTree).sort()).toEqual(Object.keys(atSnapshot).sort());
    expect(restoredTree).toEqual(atSnapshot);
  });

  it('writes made to the source after the snapshot are in the source and not in the restore', async () => {
    expect(await exists(file(source, 'added-later.txt'))).toBe(true);
    expect(await exists(file(restored, 'added-later.txt'))).toBe(false);
    expect((await readFile(file(source, 'random.bin'))).equals(sample.random)).toBe(false);
  });

  it('a regular file keeps its bytes, mode 0640 and its mtime to the nanosecond', async () => {
    const p = file(restored, 'random.bin');
    expect((await readFile(p)).equals(sample.random)).toBe(true);
    const s = await lstat(p, { bigint: true });
    expect(Number(s.mode & 0o7777n)).toBe(0o640);
    expect(s.mtimeNs.toString()).toBe(atSnapshot['random.bin']!.mtimeNs);
    expect(Number(s.mtimeNs / 1_000_000n)).toBe(FIXED_MTIME.getTime());
  });

  it('a sparse file keeps its 64 MiB size and its data, and stays sparse', async () => {
    const p = file(restored, 'sparse.img');
    expect((await lstat(p)).size).toBe(SPARSE_SIZE);
    expect((await readRange(p, SPARSE_DATA_OFFSET, MiB)).equals(sample.sparseChunk)).toBe(true);
    expect((await readRange(p, 0, MiB)).equals(Buffer.alloc(MiB))).toBe(true);
    expect(await allocatedBytes(p)).toBeLessThan(4 * MiB);
  });

  it('a hard-link pair is still one inode with two links', async () => {
    const a = await lstat(file(restored, 'hard-a'));
    const b = await lstat(file(restored, 'sub/hard-b'));
    expect(b.ino).toBe(a.ino);
    expect(a.nlink).toBe(2);
  });

  it('a symlink keeps its target', async () => {
    expect((await lstat(file(restored, 'link-to-random'))).isSymbolicLink()).toBe(true);
    expect(await readlink(file(restored, 'link-to-random'))).toBe('random.bin');
  });

  it('user. extended attributes are kept, including an empty one', async () => {
    expect(await userXattrs(file(restored, 'attrs.txt'))).toEqual({ 'user.origin': hex('snapshot-time'), 'user.empty': '0x' });
  });

  it('owner and group are kept', async () => {
    const s = await lstat(file(restored, 'owned.txt'));
    expect([s.uid, s.gid]).toEqual([1234, 5678]);
  });

  it('a directory keeps its mode and mtime, and an empty directory is kept', async () => {
    const s = await lstat(file(restored, 'sub'), { bigint: true });
    expect(Number(s.mode & 0o7777n)).toBe(0o750);
    expect(s.mtimeNs.toString()).toBe(atSnapshot['sub']!.mtimeNs);
    expect(Number(s.mtimeNs / 1_000_000n)).toBe(FIXED_MTIME.getTime());
    expect(await readdir(file(restored, 'empty'))).toEqual([]);
  });

  it('the snapshot is a copy under <state>/snapshots/<id>/ with its record in records/snapshots/', async () => {
    const dir = path.join(driver.stateDir, 'snapshots', snapshot.snapshot_id);
    expect((await readFile(path.join(dir, 'random.bin'))).equals(sample.random)).toBe(true);
    expect(await exists(path.join(driver.stateDir, 'records', 'snapshots', `${snapshot.snapshot_id}.json`))).toBe(true);
  });

  it('the restored volume names the snapshot as its content source', () => {
    expect(restoredVolumeSource).toMatchObject({ snapshot: { snapshot_id: snapshot.snapshot_id } });
  });
});

describe.skipIf(!isRoot)(`clone of a filesystem volume holding real data${NEEDS_ROOT}`, () => {
  let driver: DriverProcess;
  let source: Published;
  let clone: Published;
  let cloneSource: unknown;
  let atClone: Record<string, EntryFacts>;

  beforeAll(async () => {
    const root = await scratch.dir();
    driver = await scratch.start({ root });
    const vol = await createVolume(driver, { name: 'pv-origin', bytes: 128 * MiB });
    source = await stageAndPublish(driver, vol.volume_id, root);
    await writeSampleTree(source.targetPath);
    atClone = await describeTree(source.targetPath);
    const c = await createVolume(driver, { name: 'pv-clone', bytes: 128 * MiB, source: fromVolume(vol.volume_id) });
    cloneSource = c.content_source;
    clone = await stageAndPublish(driver, c.volume_id, root);
  });

  afterAll(async () => {
    for (const p of [source, clone]) await unpublishAndUnstage(driver, p);
    for (const p of [source, clone]) await deleteVolume(driver, p.volumeId);
    expect((await driver.stop()).code).toBe(0);
  });

  it('the clone equals the source at clone time, entry by entry and attribute by attribute', async () => {
    expect(await describeTree(clone.targetPath)).toEqual(atClone);
  });

  it('the clone names the source volume as its content source', () => {
    expect(cloneSource).toMatchObject({ volume: { volume_id: source.volumeId } });
  });

  it('changing the source afterwards leaves the clone as it was at clone time', async () => {
    await mutateSampleTree(source.targetPath);
    expect(await describeTree(source.targetPath)).not.toEqual(atClone);
    expect(await describeTree(clone.targetPath)).toEqual(atClone);
  });

  it('writing to the clone leaves the source alone', async () => {
    await writeFile(path.join(clone.targetPath, 'clone-only.txt'), 'clone');
    await writeFile(path.join(clone.targetPath, 'hard-a'), 'written in the clone');
    expect(await exists(path.join(source.targetPath, 'clone-only.txt'))).toBe(false);
    expect(await readFile(path.join(source.targetPath, 'hard-a'), 'utf8')).toBe('changed later');
  });
});

describe('snapshot idempotency, listing and errors', () => {
  let driver: DriverProcess;
  let volX: string;
  let volY: string;
  let snapA: Snapshot__Output;
  const SIZE = 10 * MiB;

  const list = async (req: { source_volume_id?: string; max_entries?: number; starting_token?: string }): Promise<{ ids: string[]; next: string }> => {
    const c = driver.clients.controller;
    const res = await call(c.ListSnapshots.bind(c), req);
    return { ids: res.entries.map((e) => e.snapshot!.snapshot_id), next: res.next_token };
  };
  const volumeDirs = async (): Promise<string[]> => (await readdir(path.join(driver.stateDir, 'volumes'))).sort();

  beforeAll(async () => {
    const root = await scratch.dir();
    driver = await scratch.start({ root });
    volX = (await createVolume(driver, { name: 'pv-x', bytes: SIZE })).volume_id;
    volY = (await createVolume(driver, { name: 'pv-y', bytes: SIZE })).volume_id;
    await writeFile(path.join(driver.stateDir, 'volumes', volX, 'x.txt'), 'x');
  });

  afterAll(async () => {
    expect((await driver.stop()).code).toBe(0);
  });

  it('CreateSnapshot with the same name and source answers the same snapshot', async () => {
    snapA = await createSnapshot(driver, 'snap-a', volX);
    const again = await createSnapshot(driver, 'snap-a', volX);
    expect(again.snapshot_id).toBe(snapA.snapshot_id);
    expect(again.creation_time).toEqual(snapA.creation_time);
    expect(await readdir(path.join(driver.stateDir, 'snapshots'))).toEqual([snapA.snapshot_id]);
  });

  it('a snapshot is ready_to_use and its size_bytes is the source capacity', () => {
    expect(snapA.ready_to_use).toBe(true);
    expect(snapA.size_bytes).toBe(String(SIZE));
    expect(snapA.source_volume_id).toBe(volX);
  });

  it('CreateSnapshot with the same name and another source is ALREADY_EXISTS', async () => {
    expect(await codeOf(createSnapshot(driver, 'snap-a', volY))).toBe(status.ALREADY_EXISTS);
  });

  it('ListSnapshots by source volume returns every snapshot of that volume and none of another', async () => {
    const b = await createSnapshot(driver, 'snap-b', volX);
    const c = await createSnapshot(driver, 'snap-c', volX);
    await createSnapshot(driver, 'snap-y', volY);
    const { ids, next } = await list({ source_volume_id: volX });
    expect(ids.sort()).toEqual([snapA.snapshot_id, b.snapshot_id, c.snapshot_id].sort());
    expect(next).toBe('');
  });

  it('ListSnapshots by source volume with max_entries 2 pages: two, then the third with no next token', async () => {
    const all = (await list({ source_volume_id: volX })).ids;
    const first = await list({ source_volume_id: volX, max_entries: 2 });
    expect(first.ids).toHaveLength(2);
    expect(first.next).not.toBe('');
    const second = await list({ source_volume_id: volX, max_entries: 2, starting_token: first.next });
    expect(second.ids).toHaveLength(1);
    expect(second.next).toBe('');
    expect([...first.ids, ...second.ids].sort()).toEqual(all.sort());
  });

  it('GetSnapshot of an unknown ID is NOT_FOUND', async () => {
    const c = driver.clients.controller;
    expect(await codeOf(call(c.GetSnapshot.bind(c), { snapshot_id: 'no-such-snapshot' }))).toBe(status.NOT_FOUND);
  });

  it('CreateVolume from a missing snapshot is NOT_FOUND and creates nothing', async () => {
    const before = await volumeDirs();
    expect(await codeOf(createVolume(driver, { name: 'pv-from-missing', bytes: SIZE, source: fromSnapshot('no-such-snapshot') }))).toBe(status.NOT_FOUND);
    expect(await volumeDirs()).toEqual(before);
  });

  it('CreateVolume from a missing source volume is NOT_FOUND', async () => {
    expect(await codeOf(createVolume(driver, { name: 'pv-clone-missing', bytes: SIZE, source: fromVolume('no-such-volume') }))).toBe(status.NOT_FOUND);
  });

  it('CreateVolume from a snapshot with required_bytes below the source size is OUT_OF_RANGE and creates nothing', async () => {
    const before = await volumeDirs();
    expect(await codeOf(createVolume(driver, { name: 'pv-too-small', bytes: SIZE - 1, source: fromSnapshot(snapA.snapshot_id) }))).toBe(status.OUT_OF_RANGE);
    expect(await volumeDirs()).toEqual(before);
  });

  it('CreateVolume from a snapshot without a capacity range gets the source size and its data', async () => {
    const vol = await createVolume(driver, { name: 'pv-default-size', source: fromSnapshot(snapA.snapshot_id) });
    expect(vol.capacity_bytes).toBe(String(SIZE));
    expect(await readFile(path.join(driver.stateDir, 'volumes', vol.volume_id, 'x.txt'), 'utf8')).toBe('x');
    await deleteVolume(driver, vol.volume_id);
  });

  it('DeleteSnapshot removes <state>/snapshots/<id>/ and the snapshot record', async () => {
    const c = driver.clients.controller;
    expect(await exists(path.join(driver.stateDir, 'snapshots', snapA.snapshot_id))).toBe(true);
    await call(c.DeleteSnapshot.bind(c), { snapshot_id: snapA.snapshot_id });
    expect(await exists(path.join(driver.stateDir, 'snapshots', snapA.snapshot_id))).toBe(false);
    expect(await exists(path.join(driver.stateDir, 'records', 'snapshots', `${snapA.snapshot_id}.json`))).toBe(false);
  });

  it('a deleted snapshot is NOT_FOUND for GetSnapshot and gone from ListSnapshots', async () => {
    const c = driver.clients.controller;
    expect(await codeOf(call(c.GetSnapshot.bind(c), { snapshot_id: snapA.snapshot_id }))).toBe(status.NOT_FOUND);
    expect((await list({ source_volume_id: volX })).ids).not.toContain(snapA.snapshot_id);
  });

  it('DeleteSnapshot of an already deleted snapshot succeeds', async () => {
    const c = driver.clients.controller;
    await expect(call(c.DeleteSnapshot.bind(c), { snapshot_id: snapA.snapshot_id })).resolves.toEqual({});
  });

  it('a snapshot outlives its source volume: it restores after DeleteVolume of the source', async () => {
    const z = (await createVolume(driver, { name: 'pv-z', bytes: SIZE })).volume_id;
    await writeFile(path.join(driver.stateDir, 'volumes', z, 'z.txt'), 'from z');
    const snap = await createSnapshot(driver, 'snap-z', z);
    await deleteVolume(driver, z);
    const vol = await createVolume(driver, { name: 'pv-from-z', source: fromSnapshot(snap.snapshot_id) });
    expect(await readFile(path.join(driver.stateDir, 'volumes', vol.volume_id, 'z.txt'), 'utf8')).toBe('from z');
    await deleteVolume(driver, vol.volume_id);
  });
});

describe('group snapshot of two volumes', () => {
  let driver: DriverProcess;
  const data = new Map<string, Buffer>();
  let group: VolumeGroupSnapshot__Output;
  const dataFile = (volumeId: string): string => path.join(driver.stateDir, 'volumes', volumeId, 'data.bin');

  beforeAll(async () => {
    const root = await scratch.dir();
    driver = await scratch.start({ root });
    for (const name of ['pv-g1', 'pv-g2']) {
      const id = (await createVolume(driver, { name, bytes: 8 * MiB })).volume_id;
      data.set(id, randomBytes(128 * 1024));
      await writeFile(dataFile(id), data.get(id)!);
    }
    const g = driver.clients.groupController;
    const res = await call(g.CreateVolumeGroupSnapshot.bind(g), { name: 'group-1', source_volume_ids: [...data.keys()] });
    group = res.group_snapshot!;
    // Writes after the group snapshot must not reach its members.
    for (const id of data.keys()) await writeFile(dataFile(id), 'changed after the group snapshot');
  });

  afterAll(async () => {
    expect((await driver.stop()).code).toBe(0);
  });

  it('has one ready member per source volume', () => {
    expect(group.snapshots.map((s) => s.source_volume_id).sort()).toEqual([...data.keys()].sort());
    expect(group.ready_to_use).toBe(true);
  });

  it('every member carries the group snapshot ID', () => {
    expect(group.group_snapshot_id).not.toBe('');
    expect(group.snapshots.map((s) => s.group_snapshot_id)).toEqual([group.group_snapshot_id, group.group_snapshot_id]);
  });

  it('members share the group creation_time', () => {
    for (const s of group.snapshots) expect(s.creation_time).toEqual(group.creation_time);
  });

  it('CreateVolumeGroupSnapshot with the same name and the same volumes in another order answers the same group', async () => {
    const g = driver.clients.groupController;
    const res = await call(g.CreateVolumeGroupSnapshot.bind(g), { name: 'group-1', source_volume_ids: [...data.keys()].reverse() });
    expect(res.group_snapshot!.group_snapshot_id).toBe(group.group_snapshot_id);
    expect(res.group_snapshot!.snapshots.map((s) => s.snapshot_id).sort()).toEqual(group.snapshots.map((s) => s.snapshot_id).sort());
  });

  it('CreateVolumeGroupSnapshot with the same name and other volumes is ALREADY_EXISTS', async () => {
    const g = driver.clients.groupController;
    const req = { name: 'group-1', source_volume_ids: [[...data.keys()][0]!] };
    expect(await codeOf(call(g.CreateVolumeGroupSnapshot.bind(g), req))).toBe(status.ALREADY_EXISTS);
  });

  it('GetSnapshot of a member reports its group snapshot ID', async () => {
    const c = driver.clients.controller;
    const res = await call(c.GetSnapshot.bind(c), { snapshot_id: group.snapshots[0]!.snapshot_id });
    expect(res.snapshot!.group_snapshot_id).toBe(group.group_snapshot_id);
  });

  it("restoring each member gives that volume's data at group-snapshot time", async () => {
    for (const member of group.snapshots) {
      const vol = await createVolume(driver, { name: `restore-${member.snapshot_id}`, bytes: 8 * MiB, source: fromSnapshot(member.snapshot_id) });
      expect((await readFile(dataFile(vol.volume_id))).equals(data.get(member.source_volume_id)!)).toBe(true);
      await deleteVolume(driver, vol.volume_id);
    }
  });

  it('DeleteSnapshot of a member alone is FAILED_PRECONDITION and keeps its data', async () => {
    const c = driver.clients.controller;
    const member = group.snapshots[0]!;
    expect(await codeOf(call(c.DeleteSnapshot.bind(c), { snapshot_id: member.snapshot_id }))).toBe(status.FAILED_PRECONDITION);
    expect(await exists(path.join(driver.stateDir, 'snapshots', member.snapshot_id, 'data.bin'))).toBe(true);
  });

  it("DeleteVolumeGroupSnapshot removes every member's directory and record", async () => {
    const g = driver.clients.groupController;
    await call(g.DeleteVolumeGroupSnapshot.bind(g), { group_snapshot_id: group.group_snapshot_id, snapshot_ids: [] });
    for (const s of group.snapshots) {
      expect(await exists(path.join(driver.stateDir, 'snapshots', s.snapshot_id))).toBe(false);
      expect(await exists(path.join(driver.stateDir, 'records', 'snapshots', `${s.snapshot_id}.json`))).toBe(false);
    }
    expect(await readdir(path.join(driver.stateDir, 'records', 'group-snapshots'))).toEqual([]);
  });

  it('after the group is deleted, its members and the group are NOT_FOUND', async () => {
    const c = driver.clients.controller;
    const g = driver.clients.groupController;
    expect(await codeOf(call(c.GetSnapshot.bind(c), { snapshot_id: group.snapshots[0]!.snapshot_id }))).toBe(status.NOT_FOUND);
    expect(await codeOf(call(g.GetVolumeGroupSnapshot.bind(g), { group_snapshot_id: group.group_snapshot_id, snapshot_ids: [] }))).toBe(status.NOT_FOUND);
  });
});
