import path from 'node:path';
import { startDriver } from '../drivers';
import { Recorder } from '../recorder';
import { runDir, type Scenario } from '../scenario';
import { median } from '../stats';
import { removeRunDir, result, sleep } from './common';

/** Process start → socket present → first ready Probe, on an empty state directory; and RSS once idle. */
export const startup: Scenario = {
  name: 'startup',
  async run(spec, ctx) {
    const rec = new Recorder();
    const ready: number[] = [];
    const socket: number[] = [];
    let idle = { rssMiB: NaN, anonMiB: NaN, fileMiB: NaN };
    for (let i = 0; i < ctx.sizes.startupRuns; i++) {
      const dir = await runDir(ctx, 'startup', spec);
      try {
        const { driver, times } = await startDriver(spec, dir, path.join(dir, 'state'));
        ready.push(times.readyMs);
        socket.push(times.socketMs);
        if (i === ctx.sizes.startupRuns - 1) {
          // Idle: start-up work done, nothing called for a second.
          await sleep(1000);
          idle = await driver.memory();
        }
        await driver.stop();
      } finally {
        await removeRunDir(dir);
      }
    }
    return result(rec, { readyMs: median(ready), socketMs: median(socket), idleRssMiB: idle.rssMiB, idleAnonMiB: idle.anonMiB, idleFileMiB: idle.fileMiB });
  },
};
