import path from 'node:path';
import { Recorder, seconds } from '../recorder';
import { runDir, type Scenario } from '../scenario';
import { removeRunDir, result, withDriver } from './common';
import { createMany, deleteMany } from './create-delete';

/**
 * How cost per operation grows with the number of volumes already present: fill to each N in turn, then time a fixed
 * batch of create-delete pairs at that population (cost/op = wall time / operations). The fill and the final delete
 * of everything are timed too. The reference goes to a smaller N (Sizes.scale.referenceNs): it rewrites its whole
 * state.json on every create, so its fill alone grows with the square of N.
 */
export const scale: Scenario = {
  name: 'scale',
  async run(spec, ctx) {
    const { probeOps, c } = ctx.sizes.scale;
    const ns = spec.kind === 'reference' ? ctx.sizes.scale.referenceNs : ctx.sizes.scale.ns;
    const rec = new Recorder();
    const figures: Record<string, number> = {};
    const dir = await runDir(ctx, 'scale', spec);
    try {
      return await withDriver(spec, dir, path.join(dir, 'state'), async (d) => {
        const all: (string | null)[] = [];
        for (const n of ns) {
          const from = all.length;
          const t0 = process.hrtime.bigint();
          all.push(...(await createMany(d, rec, 'fill', from, n, c)));
          figures[`fillOpsPerSec@${n}`] = (n - from) / seconds(t0);
          const probeRec = new Recorder();
          const t1 = process.hrtime.bigint();
          const batch = await createMany(d, probeRec, `probe${n}`, 0, probeOps, c);
          await deleteMany(d, probeRec, batch, c);
          figures[`costMs@${n}`] = (seconds(t1) * 1000) / (2 * probeOps);
          figures[`rssMiB@${n}`] = (await d.memory()).rssMiB;
          rec.failures.push(...probeRec.failures);
          rec.calls += probeRec.calls;
          for (const [m, s] of probeRec.latencies) rec.latencies.set(`${m}@${n}`, s);
        }
        const t2 = process.hrtime.bigint();
        await deleteMany(d, rec, all, c);
        figures.deleteAllOpsPerSec = all.length / seconds(t2);
        return result(rec, figures);
      });
    } finally {
      await removeRunDir(dir);
    }
  },
};
