import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { controllerPublish, controllerUnpublish, createVolume, deleteVolume, nodePublish, nodeStage, nodeUnpublish, nodeUnstage } from '../csi-ops';
import type { RunningDriver } from '../drivers';
import { pool, Recorder, seconds } from '../recorder';
import { runDir, type Scenario } from '../scenario';
import { removeRunDir, result, withDriver } from './common';
import { VOLUME_BYTES } from './create-delete';

const PAYLOAD = Buffer.alloc(4096, 0x5a);

/** Writes 4 KiB through the published target and reads it back: the mount must really reach the volume. */
async function writeThrough(rec: Recorder, target: string): Promise<void> {
  const file = path.join(target, 'data');
  await writeFile(file, PAYLOAD);
  const back = await readFile(file);
  if (!back.equals(PAYLOAD)) rec.fail('write', `4 KiB written through ${target} did not read back`);
}

/** What kubelet and the attacher do for one pod's volume, start to end. A step that fails skips the rest. */
async function oneVolume(d: RunningDriver, rec: Recorder, dir: string, i: number): Promise<void> {
  const staging = path.join(dir, 'staging', String(i));
  const target = path.join(dir, 'pods', String(i), 'mount');
  // kubelet makes the staging directory and the target's parent; the driver makes the target.
  await mkdir(staging, { recursive: true });
  await mkdir(path.dirname(target), { recursive: true });
  const id = await createVolume(d, rec, `lc-${i}`, VOLUME_BYTES);
  if (id === null) return;
  if (await controllerPublish(d, rec, id)) {
    if (await nodeStage(d, rec, id, staging)) {
      if (await nodePublish(d, rec, id, staging, target)) {
        await writeThrough(rec, target).catch((err: Error) => rec.fail('write', err.message));
        await nodeUnpublish(d, rec, id, target);
      }
      await nodeUnstage(d, rec, id, staging);
    }
    await controllerUnpublish(d, rec, id);
  }
  await deleteVolume(d, rec, id);
}

/** Create → ControllerPublish → NodeStage → NodePublish → write 4 KiB → and back down, N volumes at concurrency C. */
export const lifecycle: Scenario = {
  name: 'lifecycle',
  needsMount: true,
  async run(spec, ctx) {
    const { n, c } = ctx.sizes.lifecycle;
    const rec = new Recorder();
    const dir = await runDir(ctx, 'lifecycle', spec);
    try {
      return await withDriver(spec, dir, path.join(dir, 'state'), async (d) => {
        const t0 = process.hrtime.bigint();
        await pool(n, c, (i) => oneVolume(d, rec, dir, i));
        return result(rec, { volumesPerSec: n / seconds(t0) });
      });
    } finally {
      await removeRunDir(dir);
    }
  },
};
