import { describe, expect, it } from 'vitest';
import { kubectl } from '../lib/cluster';
import { tagImage } from '../lib/images';
import { PLUGIN_NAMESPACE, pluginPods, pluginPodsReady } from '../lib/pods';
import { overlayForSuite } from '../lib/suite';
import { waitRegistered } from '../lib/node-plugin';
import { APPENDING, inNamespace, keepsWriting, pvc } from '../lib/workloads';

const DRIVER_CONTAINER = 'hostpath-csi';

// A rolling upgrade of the node plugin to a second image tag while pods use its volumes, as an operator does it:
// `kubectl set image` on the workload, then `kubectl rollout status`. The second tag is the built image tagged a
// second time (<tag>-next, same content): what is tested is the rollout with volumes in use (the old pod goes, a new
// one from the new tag adopts the volumes from the state directory), not a change between two versions.
describe('a rolling upgrade of the node plugin with volumes in use (single-node overlay as pods)', () => {
  overlayForSuite('single-node');

  it('pods keep writing through the rollout; the new pod runs the new tag and adopts the volumes; unpublish and delete work after', () =>
    inNamespace('pods-upgrade', 280_000, async (ns) => {
      await ns.create(pvc('files'), pvc('disk', { size: '16Mi', volumeMode: 'Block' }));
      await ns.startPod('writer', { claim: 'files', script: APPENDING });
      await ns.startPod('disk-user', { claim: 'disk', block: true });
      await ns.exec('disk-user', 'echo before-upgrade | dd of=/dev/xvda conv=notrunc 2>/dev/null; sync');
      await keepsWriting(ns, 'writer');
      const pvs = await Promise.all(['files', 'disk'].map(async (c) => (await ns.pvOf(c)).metadata.name));

      const [before] = await pluginPods();
      const image = before!.spec.containers.find((c) => c.name === DRIVER_CONTAINER)!.image;
      const next = `${image}-next`;
      await tagImage(image, next);
      const owner = before!.metadata.ownerReferences![0]!;
      const workload = `${owner.kind.toLowerCase()}/${owner.name}`;
      await kubectl(['-n', PLUGIN_NAMESPACE, 'set', 'image', workload, `${DRIVER_CONTAINER}=${next}`]);
      await kubectl(['-n', PLUGIN_NAMESPACE, 'rollout', 'status', workload, '--timeout=180s'], undefined, 190_000);

      const [after] = await pluginPodsReady();
      expect(after!.metadata.uid).not.toBe(before!.metadata.uid);
      expect(after!.spec.containers.find((c) => c.name === DRIVER_CONTAINER)!.image).toBe(next);
      // (Not the container status's image: both tags name one image, and the runtime reports whichever it lists first.)
      await waitRegistered();

      // The workloads never stopped: the mounts and the loop device do not depend on the driver's pod.
      await keepsWriting(ns, 'writer');
      expect(await ns.exec('disk-user', 'head -c 15 /dev/xvda')).toBe('before-upgrade\n');

      // The new driver adopted both volumes: unpublish, unstage (the loop device detached) and delete go through it.
      await ns.deletePod('writer');
      await ns.deletePod('disk-user');
      await ns.deletePvc('files');
      await ns.deletePvc('disk');
      for (const pv of pvs) await ns.waitPvGone(pv);
    }));
});
