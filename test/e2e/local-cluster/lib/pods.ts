import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { REPO, cluster, kubectl, toolEnv } from './cluster';
import { undeploy } from './deployment';
import { applyOverlay, composeOverlay, deleteOverlay, type Form, PLUGIN_NAMESPACE, PLUGIN_SELECTOR, pluginRegistered } from './node-plugin';

export { PLUGIN_NAMESPACE, pluginPods, pluginPodsReady, type PluginPod } from './node-plugin';

/**
 * The node plugin installed by a case of its own, as users install it: `kubectl apply -k` of a deploy/ overlay
 * (composed as node-plugin.ts says) or `helm install` of the chart, run as pods with real containers from the images
 * up.sh imported (the driver image from scripts/build-image.sh, the sidecars from build-images.sh).
 */

/** The images of the node plugin's pod template in a rendering (multi-document YAML), sorted. */
export function renderedImages(rendered: string): string[] {
  const doc = rendered.split(/^---$/m).find((d) => /^kind: (StatefulSet|DaemonSet)$/m.test(d) && d.includes(PLUGIN_SELECTOR.split('=')[1]!));
  if (!doc) throw new Error('no node plugin workload in the rendering');
  return [...doc.matchAll(/^\s+image: (\S+)$/gm)].map((m) => m[1]!).sort();
}

/** One way users deploy the node plugin: how to install it, what it rendered, how to remove it. */
export interface Installation {
  rendered(): Promise<string>;
  remove(): Promise<void>;
}

/** `kubectl apply -k` of an overlay (composed as above); removed by `kubectl delete -k` of the same. */
export async function installOverlay(form: Form): Promise<Installation> {
  await undeploy();
  const dir = await composeOverlay(form);
  await applyOverlay(dir);
  return {
    rendered: () => kubectl(['kustomize', dir]),
    remove: () => deleteOverlay(dir),
  };
}

const run = promisify(execFile);
const RELEASE = 'hostpath-csi';
function helm(args: string[]): Promise<{ stdout: string }> {
  return run(path.join(REPO, '.tools/bin/helm'), ['--kubeconfig', cluster.kubeconfig, '--namespace', PLUGIN_NAMESPACE, ...args], { timeout: 200_000, maxBuffer: 16 * 1024 * 1024, env: toolEnv });
}

/**
 * `helm install` of the chart with its defaults except where this cluster keeps kubelet and the state (values a
 * user sets the same way), through pods/helm-post-render.sh (the bridge component); removed by `helm uninstall`.
 */
export async function installChart(): Promise<Installation> {
  await undeploy();
  await helm([
    'install', RELEASE, path.join(REPO, 'deploy/helm/hostpath-csi'), '--create-namespace',
    '--set', `kubeletDir=${cluster.kubeletDir}`, '--set', `dataDir=${cluster.stateDir}`,
    '--post-renderer', path.join(REPO, 'test/e2e/local-cluster/pods/helm-post-render.sh'),
  ]);
  await pluginRegistered();
  return {
    rendered: async () => (await helm(['get', 'manifest', RELEASE])).stdout,
    remove: async () => {
      await helm(['uninstall', RELEASE, '--wait', '--timeout', '180s']);
      // helm leaves the namespace --create-namespace made (it is not part of the release): as docs/kubernetes.md
      // tells users, delete it by hand.
      await kubectl(['delete', 'namespace', PLUGIN_NAMESPACE, '--ignore-not-found', '--wait=true', '--timeout=120s'], undefined, 130_000);
    },
  };
}
