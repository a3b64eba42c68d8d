import { execFile } from 'node:child_process';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import path from 'node:path';
import { REPO, cluster, kubectl, kubectlJson, toolEnv, waitFor } from './cluster';
import { DRIVER_NAME, type Form, undeploy } from './deployment';

/**
 * The node plugin as users deploy it: `kubectl apply -k` of a deploy/ overlay, run as pods with real containers
 * from the images up.sh imported (the driver image from scripts/build-image.sh, the sidecars from build-images.sh).
 * The overlay is composed, not edited: deploy/kubernetes/overlays/<form> as shipped, plus
 *   - components/kubelet-dir made for this cluster's kubelet root, the way its README tells users of a
 *     distribution with another kubelet root to (copy it, replace the path), and
 *   - pods/bridge, the one test-only component (host network, the API server on loopback, state under E2E_ROOT).
 */
const WORK = path.join(REPO, '.run', 'e2e-pods');
export const PLUGIN_NAMESPACE = 'hostpath-csi';
const PLUGIN_SELECTOR = 'app.kubernetes.io/name=hostpath-csi';

async function composeOverlay(form: Form): Promise<string> {
  const kubeletDir = path.join(WORK, 'kubelet-dir');
  await rm(WORK, { recursive: true, force: true });
  await mkdir(path.join(WORK, form), { recursive: true });
  await cp(path.join(REPO, 'deploy/kubernetes/components/kubelet-dir'), kubeletDir, { recursive: true });
  const patch = path.join(kubeletDir, 'kubelet-dir.yaml');
  await writeFile(patch, (await readFile(patch, 'utf8')).replaceAll('/var/lib/k0s/kubelet', cluster.kubeletDir));
  const fromHere = (p: string) => path.relative(path.join(WORK, form), p); // kustomize refuses absolute paths
  await writeFile(
    path.join(WORK, form, 'kustomization.yaml'),
    [
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      'resources:',
      `  - ${fromHere(path.join(REPO, 'deploy/kubernetes/overlays', form))}`,
      'components:',
      `  - ${fromHere(kubeletDir)}`,
      `  - ${fromHere(path.join(REPO, 'test/e2e/local-cluster/pods/bridge'))}`,
      '',
    ].join('\n'),
  );
  return path.join(WORK, form);
}

export interface PluginPod {
  metadata: { name: string; uid: string };
  spec: { containers: { name: string; image: string; securityContext?: { privileged?: boolean } }[] };
  status: { containerStatuses?: { name: string; ready: boolean; restartCount: number }[] };
}

export async function pluginPods(): Promise<PluginPod[]> {
  return (await kubectlJson<{ items: PluginPod[] }>(['-n', PLUGIN_NAMESPACE, 'get', 'pods', '-l', PLUGIN_SELECTOR])).items;
}

const allReady = (p: PluginPod) => (p.status.containerStatuses ?? []).length === p.spec.containers.length && (p.status.containerStatuses ?? []).every((c) => c.ready);

/** The node plugin's pods, once every container of each is ready. */
export function pluginPodsReady(timeoutMs = 180_000): Promise<PluginPod[]> {
  return waitFor('the node plugin pods to be ready', async () => {
    const pods = await pluginPods();
    return pods.length > 0 && pods.every(allReady) && pods;
  }, timeoutMs, 1000);
}

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

async function pluginRegistered(): Promise<void> {
  await pluginPodsReady();
  await waitFor(`kubelet to register ${DRIVER_NAME} (CSINode)`, async () => {
    const node = await kubectlJson<{ spec: { drivers?: { name: string }[] | null } }>(['get', 'csinode', cluster.nodeName]);
    return (node.spec.drivers ?? []).some((d) => d.name === DRIVER_NAME);
  });
}

/** `kubectl apply -k` of an overlay (composed as above); removed by `kubectl delete -k` of the same. */
export async function installOverlay(form: Form): Promise<Installation> {
  await undeploy();
  const dir = await composeOverlay(form);
  await kubectl(['apply', '-k', dir], undefined, 120_000);
  await pluginRegistered();
  return {
    rendered: () => kubectl(['kustomize', dir]),
    remove: () => deletePods(dir),
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

/** `kubectl delete -k` of the same overlay, waiting for every object to be gone. */
export async function deletePods(dir: string): Promise<void> {
  await kubectl(['delete', '-k', dir, '--ignore-not-found', '--wait=true', '--timeout=180s'], undefined, 190_000);
}
