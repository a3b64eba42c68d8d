import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { kubectl, waitFor } from '../lib/cluster';
import { PLUGIN_NAMESPACE, pluginPods, pluginPodsReady } from '../lib/pods';
import { overlayForSuite } from '../lib/suite';
import { APPENDING, inNamespace, keepsWriting, pvc } from '../lib/workloads';

const run = promisify(execFile);

/** The host pid of the driver in its container (the image's entrypoint: node /app/dist/main.js). */
async function driverPid(): Promise<number> {
  const { stdout } = await run('pgrep', ['-f', '^node /app/dist/main.js']);
  const pids = stdout.split('\n').filter(Boolean).map(Number);
  if (pids.length !== 1) throw new Error(`expected one driver process, found ${pids.length}`);
  return pids[0]!;
}

// The single-node form as pods, with a workload writing to its volume while the driver's pod goes away and while
// the driver hangs. A mounted volume does not depend on the driver process; what must hold is that the new driver
// adopts it (from its state) so that unpublish and delete still work.
describe('the driver as a pod, under faults (single-node overlay)', () => {
  overlayForSuite('single-node');

  it('I/O goes on while the driver pod is deleted and while the driver hangs; the liveness probe restarts it; unpublish works after', () =>
    inNamespace('pods-faults', 280_000, async (ns) => {
      await ns.create(pvc('data'));
      await ns.startPod('writer', { claim: 'data', script: APPENDING });
      const pv = await ns.waitBound('data');
      await keepsWriting(ns, 'writer');

      // The driver pod deleted (its StatefulSet makes a new one); the workload keeps writing meanwhile.
      const [before] = await pluginPods();
      await kubectl(['-n', PLUGIN_NAMESPACE, 'delete', 'pod', before!.metadata.name, '--wait=true', '--timeout=120s'], undefined, 130_000);
      await keepsWriting(ns, 'writer');
      const [after] = await pluginPodsReady();
      expect(after!.metadata.uid).not.toBe(before!.metadata.uid);

      // The driver hung (SIGSTOP): Probe times out, the livenessprobe answers 500, kubelet restarts the container.
      const restarts = (await pluginPods())[0]!.status.containerStatuses!.find((c) => c.name === 'hostpath-csi')!.restartCount;
      process.kill(await driverPid(), 'SIGSTOP');
      await keepsWriting(ns, 'writer');
      await waitFor('kubelet to restart the hung driver', async () => {
        const [p] = await pluginPods();
        const c = p?.status.containerStatuses?.find((s) => s.name === 'hostpath-csi');
        return c !== undefined && c.restartCount > restarts && c.ready;
      }, 150_000, 1000);
      await keepsWriting(ns, 'writer');

      // The restarted driver adopted the volume: unpublish, unstage and delete go through it.
      await ns.deletePod('writer');
      await ns.deletePvc('data');
      await ns.waitPvGone(pv.metadata.name);
    }));
});
