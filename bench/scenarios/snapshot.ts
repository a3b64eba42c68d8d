import path from 'node:path';
import { createSnapshot, createVolume, deleteSnapshot, deleteVolume, waitSnapshotReady } from '../csi-ops';
import type { DriverSpec, RunningDriver } from '../drivers';
import { mountImage, type ImageFs } from '../fs-images';
import { Recorder, seconds } from '../recorder';
import { runDir, type RunResult, type Scenario, type ScenarioContext } from '../scenario';
import { removeRunDir, result, withDriver } from './common';
import { checkVolumeData, fillVolume, MiB } from './volume-data';

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = process.hrtime.bigint();
  const value = await fn();
  return [value, seconds(t0) * 1000];
}

async function snapshotRun(d: RunningDriver, ctx: ScenarioContext, dir: string, fsRoot: string): Promise<RunResult> {
  const shape = ctx.sizes.snapshot;
  const bytes = shape.mib * MiB;
  const rec = new Recorder();
  const figures: Record<string, number> = { snapshotMs: NaN, restoreMs: NaN, cloneMs: NaN };
  const source = await createVolume(d, rec, 'snap-source', bytes);
  if (source === null || !(await fillVolume(d, rec, dir, source, shape, fsRoot))) return result(rec, figures);
  const [snap, snapMs] = await timed(async () => {
    const id = await createSnapshot(d, rec, 'snap', source);
    return id !== null && (await waitSnapshotReady(d, rec, id)) ? id : null;
  });
  if (snap !== null) {
    figures.snapshotMs = snapMs;
    const [restored, restoreMs] = await timed(() => createVolume(d, rec, 'snap-restore', bytes, { snapshot: { snapshot_id: snap } }));
    if (restored !== null) {
      figures.restoreMs = restoreMs;
      await checkVolumeData(d, rec, dir, restored, shape, 'restore');
      await deleteVolume(d, rec, restored);
    }
    await deleteSnapshot(d, rec, snap);
  }
  const [clone, cloneMs] = await timed(() => createVolume(d, rec, 'snap-clone', bytes, { volume: { volume_id: source } }));
  if (clone !== null) {
    figures.cloneMs = cloneMs;
    await checkVolumeData(d, rec, dir, clone, shape, 'clone');
    await deleteVolume(d, rec, clone);
  }
  await deleteVolume(d, rec, source);
  return result(rec, figures);
}

/** Snapshot, restore and clone of a volume of D MiB, with the driver's state on a filesystem made for the run. */
function snapshotOn(fs: ImageFs): Scenario {
  return {
    name: `snapshot-${fs}`,
    needsMount: true,
    async run(spec: DriverSpec, ctx: ScenarioContext) {
      const dir = await runDir(ctx, `snapshot-${fs}`, spec);
      try {
        // Room for the volume, the snapshot, a restore and a clone as full copies, plus the filesystem's own needs.
        const image = await mountImage(dir, fs, ctx.sizes.snapshot.mib * 5 + 512);
        try {
          return await withDriver(spec, dir, path.join(image.mountPoint, 'state'), (d) => snapshotRun(d, ctx, dir, image.mountPoint));
        } finally {
          await image.dispose();
        }
      } finally {
        await removeRunDir(dir);
      }
    },
  };
}

export const snapshotExt4 = snapshotOn('ext4');
export const snapshotXfs = snapshotOn('xfs-reflink');
