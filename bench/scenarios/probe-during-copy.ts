import path from 'node:path';
import { createSnapshot, createVolume, probe, waitSnapshotReady } from '../csi-ops';
import { mountImage } from '../fs-images';
import { Recorder, seconds } from '../recorder';
import { runDir, type Scenario } from '../scenario';
import { summarize } from '../stats';
import { removeRunDir, result, sleep, withDriver } from './common';
import { fillVolume, MiB } from './volume-data';

/**
 * Probe latency while a snapshot of a large volume is being copied (ext4: a full copy, no reflink): a driver whose
 * event loop or global lock waits on the copy shows it here. One Probe every 5 ms, one at a time.
 */
export const probeDuringCopy: Scenario = {
  name: 'probe-during-copy',
  needsMount: true,
  async run(spec, ctx) {
    const mib = ctx.sizes.probeCopy.mib;
    const rec = new Recorder();
    const dir = await runDir(ctx, 'probe-during-copy', spec);
    try {
      const image = await mountImage(dir, 'ext4', mib * 2 + 512);
      try {
        return await withDriver(spec, dir, path.join(image.mountPoint, 'state'), async (d) => {
          const figures: Record<string, number> = { probeP50Ms: NaN, probeP99Ms: NaN, probeMaxMs: NaN, snapshotMs: NaN };
          const vol = await createVolume(d, rec, 'copy-source', mib * MiB);
          if (vol === null || !(await fillVolume(d, rec, dir, vol, { mib, smallFiles: 0 }, image.mountPoint))) return result(rec, figures);
          const probes = new Recorder();
          let copying = true;
          const prober = (async () => {
            while (copying) {
              await probe(d, probes);
              await sleep(5);
            }
          })();
          const t0 = process.hrtime.bigint();
          const snap = await createSnapshot(d, rec, 'copy-snap', vol);
          if (snap !== null) await waitSnapshotReady(d, rec, snap);
          const snapshotMs = seconds(t0) * 1000;
          copying = false;
          await prober;
          rec.failures.push(...probes.failures);
          rec.calls += probes.calls;
          const s = summarize(probes.samples('Probe'));
          rec.latencies.set('Probe', probes.samples('Probe'));
          return result(rec, { probeP50Ms: s.p50, probeP99Ms: s.p99, probeMaxMs: s.max, probes: s.n, snapshotMs });
        });
      } finally {
        await image.dispose();
      }
    } finally {
      await removeRunDir(dir);
    }
  },
};
