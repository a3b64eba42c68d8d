import path from 'node:path';
import { createVolume } from '../csi-ops';
import { startDriver } from '../drivers';
import { Recorder, seconds } from '../recorder';
import { runDir, type Scenario } from '../scenario';
import { createMany } from './create-delete';
import { removeRunDir, result, VOLUME_SEED_PREFIX } from './common';

/**
 * Start-up on a state directory that already holds N volumes (issue 15: ≤ 1 s at 10,000): the volumes are made
 * through CreateVolume, the driver is stopped (SIGTERM) and started again on the same state, timed to its first
 * ready Probe. After it, CreateVolume of the first name must answer the same volume_id (the state really was read).
 *
 * Not run on the reference: its CreateVolume rewrites its whole state.json on every call, so seeding 10,000 volumes
 * through it would take hours; what its start-up costs with a large state is not measured here.
 */
export const startupState: Scenario = {
  name: 'startup-state',
  async run(spec, ctx) {
    const { volumes, c } = ctx.sizes.startupState;
    const rec = new Recorder();
    if (spec.kind === 'reference') {
      return result(rec, { readyMs: NaN, seedOpsPerSec: NaN }, [`not run: seeding ${volumes} volumes through the reference's CreateVolume (a whole state.json rewrite per call) takes hours`]);
    }
    const dir = await runDir(ctx, 'startup-state', spec);
    const state = path.join(dir, 'state');
    try {
      const first = await startDriver(spec, dir, state);
      const t0 = process.hrtime.bigint();
      let ids: (string | null)[];
      try {
        ids = await createMany(first.driver, rec, VOLUME_SEED_PREFIX, 0, volumes, c);
      } finally {
        await first.driver.stop();
      }
      const seedOpsPerSec = volumes / seconds(t0);
      const { driver, times } = await startDriver(spec, dir, state);
      try {
        const again = await createVolume(driver, rec, `${VOLUME_SEED_PREFIX}-0`, 1024 * 1024);
        if (again !== ids[0]) rec.fail('CreateVolume', `after the restart, ${VOLUME_SEED_PREFIX}-0 answered ${again} instead of ${ids[0]}: the state was not read`);
        const rss = (await driver.memory()).rssMiB;
        return result(rec, { readyMs: times.readyMs, socketMs: times.socketMs, seedOpsPerSec, rssMiB: rss });
      } finally {
        await driver.stop();
      }
    } finally {
      await removeRunDir(dir);
    }
  },
};
