import path from 'node:path';
import { createVolume, deleteVolume, probe } from '../csi-ops';
import { summarize } from '../stats';
import type { RunningDriver } from '../drivers';
import { pool, Recorder, seconds } from '../recorder';
import { runDir, type Scenario } from '../scenario';
import { removeRunDir, result, sleep, withDriver } from './common';

export const VOLUME_BYTES = 1024 * 1024;

/** Creates volumes named `${prefix}-${i}` for i in [from, to) at concurrency c; returns their IDs (null = failed). */
export async function createMany(d: RunningDriver, rec: Recorder, prefix: string, from: number, to: number, c: number): Promise<(string | null)[]> {
  const ids: (string | null)[] = new Array(to - from).fill(null);
  await pool(to - from, c, async (i) => {
    ids[i] = await createVolume(d, rec, `${prefix}-${from + i}`, VOLUME_BYTES);
  });
  const got = ids.filter((x): x is string => x !== null);
  if (new Set(got).size !== got.length) rec.fail('CreateVolume', 'two volumes with different names got the same volume_id');
  return ids;
}

export async function deleteMany(d: RunningDriver, rec: Recorder, ids: readonly (string | null)[], c: number): Promise<void> {
  const live = ids.filter((x): x is string => x !== null);
  await pool(live.length, c, async (i) => {
    await deleteVolume(d, rec, live[i]!);
  });
}

/** Samples RSS until stopped; the peak is also checked against the kernel's own high-water mark (VmHWM). */
function rssSampler(d: RunningDriver): { stop(): Promise<number> } {
  let peak = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      peak = Math.max(peak, (await d.memory().catch(() => ({ rssMiB: 0 }))).rssMiB);
      await sleep(25);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return Math.max(peak, (await d.memory()).peakMiB);
    },
  };
}

/** N CreateVolume then N DeleteVolume at concurrency C; RSS idle before and peak during the load (memory). */
export const createDelete: Scenario = {
  name: 'create-delete',
  async run(spec, ctx) {
    const { n, c } = ctx.sizes.createDelete;
    const rec = new Recorder();
    const dir = await runDir(ctx, 'create-delete', spec);
    try {
      return await withDriver(spec, dir, path.join(dir, 'state'), async (d) => {
        await sleep(500);
        const idle = (await d.memory()).rssMiB;
        const sampler = rssSampler(d);
        const cpu0 = await d.cpuMs();
        // Probe during the create storm (issue 15: p99 ≤ 2 ms): one at a time, every 5 ms, beside the C creates.
        const probes = new Recorder();
        let storming = true;
        const prober = (async () => {
          while (storming) {
            await probe(d, probes);
            await sleep(5);
          }
        })();
        const t0 = process.hrtime.bigint();
        const ids = await createMany(d, rec, 'cd', 0, n, c);
        const createS = seconds(t0);
        storming = false;
        await prober;
        rec.failures.push(...probes.failures);
        rec.calls += probes.calls;
        rec.latencies.set('Probe (during creates)', probes.samples('Probe'));
        const probeP99Ms = summarize(probes.samples('Probe')).p99;
        const t1 = process.hrtime.bigint();
        await deleteMany(d, rec, ids, c);
        const deleteS = seconds(t1);
        const cpuPerOp = ((await d.cpuMs()) - cpu0) / (2 * n);
        const peak = await sampler.stop();
        // CPU per op against wall time per op shows whether the driver waits on the disk or on the processor.
        return result(rec, { opsPerSec: (2 * n) / (createS + deleteS), createOpsPerSec: n / createS, deleteOpsPerSec: n / deleteS, cpuMsPerOp: cpuPerOp, idleRssMiB: idle, peakRssMiB: peak, probeP99Ms });
      });
    } finally {
      await removeRunDir(dir);
    }
  },
};
