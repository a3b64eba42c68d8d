import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGroupSnapshot } from '../../../src/snapshots/groups';
import { createVolumeRequest, invoke, silentLogger, startDriver, type TestDriver } from '../../helpers/fakes';

/**
 * How consistent a group snapshot is, as README "Snapshots, restore and clone" and docs/kubernetes.md "Group
 * snapshots" claim it: the members are copied one after another in volume-ID order, nothing freezes the group as a
 * whole, so each member is its volume as it was when *that member's* copy ran. These tests pin the claim down
 * deterministically by writing from inside the copy, where a racing workload would write.
 */
let d: TestDriver;

beforeEach(async () => {
  d = await startDriver();
});

afterEach(async () => {
  await d.cleanup();
});

async function volume(name: string): Promise<string> {
  const id = (await invoke(d.controller.CreateVolume, createVolumeRequest(name))).volume?.volume_id;
  if (!id) throw new Error(`CreateVolume ${name} answered no volume ID`);
  return id;
}

const dataFile = (volumeId: string) => path.join(d.layout.volumeDataDir(volumeId), 'state');
const memberFile = (snapshotId: string) => path.join(d.layout.snapshotDataDir(snapshotId), 'state');

describe('group snapshot consistency (dir volumes)', () => {
  it('copies the members one after another in volume-ID order, whatever order the request names them in', async () => {
    const [a, b] = [await volume('pvc-a'), await volume('pvc-b')].sort() as [string, string];
    await createGroupSnapshot(d.controllerDeps, { name: 'g', sourceVolumeIds: [b, a], parameters: {} }, silentLogger());
    expect(d.copier.copies.map((c) => c.source)).toEqual([d.layout.volumeDataDir(a), d.layout.volumeDataDir(b)]);
  });

  it('holds in every member what was written before the call', async () => {
    const ids = [await volume('pvc-a'), await volume('pvc-b')];
    for (const id of ids) await writeFile(dataFile(id), 'before');
    const { members } = await createGroupSnapshot(d.controllerDeps, { name: 'g', sourceVolumeIds: ids, parameters: {} }, silentLogger());
    expect(await Promise.all(members.map((m) => readFile(memberFile(m.id), 'utf8')))).toEqual(['before', 'before']);
  });

  it('is not atomic across members: a write to both volumes racing the group lands in the later member only', async () => {
    const [a, b] = [await volume('pvc-a'), await volume('pvc-b')].sort() as [string, string];
    for (const id of [a, b]) await writeFile(dataFile(id), 'before');
    // The workload writes to both volumes right after the first member's copy, before the second one's.
    const copy = d.copier.copyContents.bind(d.copier);
    d.copier.copyContents = async (source, dest) => {
      await copy(source, dest);
      if (source === d.layout.volumeDataDir(a)) for (const id of [a, b]) await writeFile(dataFile(id), 'racing');
    };
    const { members } = await createGroupSnapshot(d.controllerDeps, { name: 'g', sourceVolumeIds: [a, b], parameters: {} }, silentLogger());
    const bySource = new Map(members.map((m) => [m.sourceVolumeId, m.id]));
    expect(await readFile(memberFile(bySource.get(a)!), 'utf8')).toBe('before');
    expect(await readFile(memberFile(bySource.get(b)!), 'utf8')).toBe('racing');
  });
});
