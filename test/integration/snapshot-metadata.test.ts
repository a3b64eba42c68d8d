/**
 * The SnapshotMetadata service on real filesystems: known blocks are written into a block volume's image between two
 * snapshots, and the allocated and changed ranges must come back exactly, in both formats, on XFS with reflink (delta
 * from the extent maps) and on ext4 (delta by block compare).
 */
import { status } from '@grpc/grpc-js';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { GetMetadataAllocatedRequest } from '../../src/generated/csi/v1/GetMetadataAllocatedRequest';
import type { GetMetadataDeltaRequest } from '../../src/generated/csi/v1/GetMetadataDeltaRequest';
import { call } from '../helpers/csi-client';
import { createSnapshot, createVolume, DataScratch, MiB, mountFsImage, unmountFsImage, writeRange, type ImageMount } from '../helpers/data';
import { isRoot, NEEDS_ROOT, type DriverProcess } from '../helpers/driver-process';
import { metadataClient, readStream, type StreamResult } from '../helpers/snapshot-metadata';

const scratch = new DataScratch();
afterAll(() => scratch.expectHostLeftClean());

const KiB = 1024;
const CAPACITY = 64 * MiB;
const block = (n: number): Buffer => Buffer.alloc(n, 0xa5);

/** Written before the base snapshot: 8 KiB at 0 and 4 KiB at 1 MiB + 4 KiB. */
const BEFORE_BASE: ReadonlyArray<[number, number]> = [
  [0, 8 * KiB],
  [MiB + 4 * KiB, 4 * KiB],
];
/** Written between the snapshots: that block again, 12 KiB at 10 MiB, and the volume's last block. */
const BETWEEN: ReadonlyArray<[number, number]> = [
  [MiB + 4 * KiB, 4 * KiB],
  [10 * MiB, 12 * KiB],
  [CAPACITY - 4 * KiB, 4 * KiB],
];

const asTuples = (ranges: ReadonlyArray<[number, number]>): Array<[number, number]> => ranges.map(([o, s]) => [o, s]);
/** The same ranges cut into 4 KiB blocks (FIXED_LENGTH). */
const asBlocks = (ranges: ReadonlyArray<[number, number]>): Array<[number, number]> =>
  ranges.flatMap(([o, s]) => Array.from({ length: s / (4 * KiB) }, (_, i): [number, number] => [o + i * 4 * KiB, 4 * KiB]));

interface Setup {
  driver: DriverProcess;
  base: string;
  target: string;
  fsSnapshot: string;
  otherVolumeSnapshot: string;
}

function withDriver(fsType: 'xfs' | 'ext4', format: 'fixed-length' | 'variable-length'): () => Setup {
  let image: ImageMount;
  let s: Setup;
  beforeAll(async () => {
    const root = await scratch.dir();
    image = await mountFsImage(root, fsType, 512 * MiB);
    const driver = await scratch.start({ root, stateDir: path.join(image.mountPoint, 'state'), extraArgs: ['--snapshot-metadata', format] });
    const vol = await createVolume(driver, { name: 'pv-block', bytes: CAPACITY, block: true });
    const img = path.join(driver.stateDir, 'volumes', vol.volume_id, 'disk.img');
    for (const [o, s] of BEFORE_BASE) await writeRange(img, o, block(s));
    const base = (await createSnapshot(driver, 'snap-base', vol.volume_id)).snapshot_id;
    for (const [o, s] of BETWEEN) await writeRange(img, o, Buffer.alloc(s, 0x5a));
    const target = (await createSnapshot(driver, 'snap-target', vol.volume_id)).snapshot_id;
    const fsVol = await createVolume(driver, { name: 'pv-fs', bytes: 16 * MiB });
    const fsSnapshot = (await createSnapshot(driver, 'snap-fs', fsVol.volume_id)).snapshot_id;
    const other = await createVolume(driver, { name: 'pv-other', bytes: CAPACITY, block: true });
    const otherVolumeSnapshot = (await createSnapshot(driver, 'snap-other', other.volume_id)).snapshot_id;
    s = { driver, base, target, fsSnapshot, otherVolumeSnapshot };
  });
  afterAll(async () => {
    expect((await s.driver.stop()).code).toBe(0);
    await unmountFsImage(image);
  });
  return () => s;
}

const allocated = (d: DriverProcess, req: GetMetadataAllocatedRequest): Promise<StreamResult> => {
  const c = metadataClient(d.socketPath);
  return readStream(c.GetMetadataAllocated(req), c);
};
const delta = (d: DriverProcess, req: GetMetadataDeltaRequest): Promise<StreamResult> => {
  const c = metadataClient(d.socketPath);
  return readStream(c.GetMetadataDelta(req), c);
};

for (const fsType of ['xfs', 'ext4'] as const) {
  const method = fsType === 'xfs' ? 'extent-map' : 'block-compare';

  describe.skipIf(!isRoot)(`SnapshotMetadata on ${fsType}, variable-length${NEEDS_ROOT}`, () => {
    const s = withDriver(fsType, 'variable-length');

    it('GetMetadataAllocated returns the written extents of each snapshot image', async () => {
      const base = await allocated(s().driver, { snapshot_id: s().base, starting_offset: 0 });
      expect(base).toMatchObject({ code: status.OK, format: ['VARIABLE_LENGTH'], capacity: [String(CAPACITY)] });
      expect(base.tuples).toEqual([[0, 8 * KiB], [MiB + 4 * KiB, 4 * KiB]]);
      const target = await allocated(s().driver, { snapshot_id: s().target, starting_offset: 0 });
      expect(target.tuples).toEqual([[0, 8 * KiB], [MiB + 4 * KiB, 4 * KiB], [10 * MiB, 12 * KiB], [CAPACITY - 4 * KiB, 4 * KiB]]);
    });

    it(`GetMetadataDelta returns exactly the blocks written between the snapshots (${method})`, async () => {
      const d = await delta(s().driver, { base_snapshot_id: s().base, target_snapshot_id: s().target, starting_offset: 0 });
      expect(d.code).toBe(status.OK);
      expect(d.tuples).toEqual(asTuples(BETWEEN));
      // The log line travels through the driver's stderr pipe, which may trail the stream's end: wait for it.
      const methods = (): unknown[] => s().driver.logLines().filter((l) => l['msg'] === 'snapshot delta computed').map((l) => l['deltaMethod']);
      await vi.waitFor(() => expect(methods()).toEqual([method]), { timeout: 10_000 });
    });

    it('starting_offset inside an extent starts at the block holding it; nothing before it is sent', async () => {
      const d = await delta(s().driver, { base_snapshot_id: s().base, target_snapshot_id: s().target, starting_offset: 10 * MiB + 5000 });
      expect(d.tuples).toEqual([[10 * MiB + 4 * KiB, 8 * KiB], [CAPACITY - 4 * KiB, 4 * KiB]]);
    });

    it('max_results 1 pages the stream: one tuple per message', async () => {
      const d = await delta(s().driver, { base_snapshot_id: s().base, target_snapshot_id: s().target, starting_offset: 0, max_results: 1 });
      expect(d.messageSizes).toEqual([1, 1, 1]);
      expect(d.tuples).toEqual(asTuples(BETWEEN));
    });

    it('a delta of a snapshot with itself is empty', async () => {
      const d = await delta(s().driver, { base_snapshot_id: s().target, target_snapshot_id: s().target, starting_offset: 0 });
      expect(d).toMatchObject({ code: status.OK, tuples: [] });
    });

    it('answers the exact codes for bad requests', async () => {
      const d = s().driver;
      expect((await allocated(d, { snapshot_id: '', starting_offset: 0 })).code).toBe(status.INVALID_ARGUMENT);
      expect((await allocated(d, { snapshot_id: 'no-such-snapshot', starting_offset: 0 })).code).toBe(status.NOT_FOUND);
      expect((await allocated(d, { snapshot_id: s().fsSnapshot, starting_offset: 0 })).code).toBe(status.INVALID_ARGUMENT);
      expect((await allocated(d, { snapshot_id: s().base, starting_offset: CAPACITY })).code).toBe(status.OUT_OF_RANGE);
      expect((await allocated(d, { snapshot_id: s().base, starting_offset: -1 })).code).toBe(status.OUT_OF_RANGE);
      expect((await allocated(d, { snapshot_id: s().base, starting_offset: 0, max_results: -1 })).code).toBe(status.INVALID_ARGUMENT);
      expect((await delta(d, { base_snapshot_id: s().base, target_snapshot_id: s().otherVolumeSnapshot, starting_offset: 0 })).code).toBe(status.INVALID_ARGUMENT);
      expect((await delta(d, { base_snapshot_id: s().base, target_snapshot_id: 'no-such-snapshot', starting_offset: 0 })).code).toBe(status.NOT_FOUND);
      expect((await delta(d, { base_snapshot_id: '', target_snapshot_id: s().target, starting_offset: 0 })).code).toBe(status.INVALID_ARGUMENT);
    });

    it('a volume grown between the snapshots: the delta is the new block, against the target\'s capacity', async () => {
      const d = s().driver;
      const vol = await createVolume(d, { name: 'pv-grow', bytes: CAPACITY, block: true });
      const img = path.join(d.stateDir, 'volumes', vol.volume_id, 'disk.img');
      await writeRange(img, 0, block(4 * KiB));
      const base = (await createSnapshot(d, 'snap-grow-base', vol.volume_id)).snapshot_id;
      const c = d.clients.controller;
      await call(c.ControllerExpandVolume.bind(c), { volume_id: vol.volume_id, capacity_range: { required_bytes: String(CAPACITY + 32 * MiB) } });
      await writeRange(img, CAPACITY + 16 * MiB, block(4 * KiB));
      const target = (await createSnapshot(d, 'snap-grow-target', vol.volume_id)).snapshot_id;
      const r = await delta(d, { base_snapshot_id: base, target_snapshot_id: target, starting_offset: 0 });
      expect(r).toMatchObject({ code: status.OK, capacity: [String(CAPACITY + 32 * MiB)], tuples: [[CAPACITY + 16 * MiB, 4 * KiB]] });
      expect((await allocated(d, { snapshot_id: base, starting_offset: 0 })).capacity).toEqual([String(CAPACITY)]);
    });

    it('advertises SNAPSHOT_METADATA_SERVICE', async () => {
      const id = s().driver.clients.identity;
      const caps = await call(id.GetPluginCapabilities.bind(id), {});
      expect(caps.capabilities.map((c) => c.service?.type)).toContain('SNAPSHOT_METADATA_SERVICE');
    });
  });

  describe.skipIf(!isRoot)(`SnapshotMetadata on ${fsType}, fixed-length${NEEDS_ROOT}`, () => {
    const s = withDriver(fsType, 'fixed-length');

    it('GetMetadataAllocated returns one 4 KiB tuple per written block', async () => {
      const a = await allocated(s().driver, { snapshot_id: s().base, starting_offset: 0 });
      expect(a).toMatchObject({ code: status.OK, format: ['FIXED_LENGTH'] });
      expect(a.tuples).toEqual(asBlocks(BEFORE_BASE));
    });

    it('GetMetadataDelta returns the changed blocks, from the block holding starting_offset, paged by max_results', async () => {
      const all = await delta(s().driver, { base_snapshot_id: s().base, target_snapshot_id: s().target, starting_offset: 0 });
      expect(all.tuples).toEqual(asBlocks(BETWEEN));
      const rest = await delta(s().driver, { base_snapshot_id: s().base, target_snapshot_id: s().target, starting_offset: 10 * MiB + 4 * KiB, max_results: 2 });
      expect(rest.tuples).toEqual(asBlocks([[10 * MiB + 4 * KiB, 8 * KiB], [CAPACITY - 4 * KiB, 4 * KiB]]));
      expect(rest.messageSizes).toEqual([2, 1]);
    });
  });
}
