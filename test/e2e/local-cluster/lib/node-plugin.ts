import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO, cluster, kubectl, kubectlJson, waitFor } from './cluster';

/**
 * The node plugin as users deploy it, the parts both deployment.ts (cases 01-09 against pods) and pods.ts (cases
 * 11-13) use: the forms, composing an overlay for this cluster, and waiting for its pods and kubelet's registration.
 */

export const FORMS = ['single-node', 'single-node-no-attach', 'distributed'] as const;
/** The forms, and the variants single cases deploy (case 11 installs FORMS). */
export type Form = (typeof FORMS)[number] | 'single-node-group-snapshots' | 'single-node-health' | ComponentForm;

/**
 * Variants that are not overlays in deploy/: an overlay with one of deploy/kubernetes/components, composed the way
 * that component's kustomization.yaml tells users to (from their own overlay; where it names a host path, a copy
 * with that path replaced). Case 18 deploys volume-roots (its root under the e2e root, which teardown removes), case
 * 19 snapshot-metadata.
 */
export const COMPONENT_FORMS = {
  'single-node-volume-roots': { overlay: 'single-node', component: 'volume-roots', replace: ['/srv/exports', path.join(cluster.root, 'volume-roots', 'exports')] },
  'single-node-snapshot-metadata': { overlay: 'single-node', component: 'snapshot-metadata', replace: undefined },
} as const satisfies Record<string, { overlay: string; component: string; replace: readonly [string, string] | undefined }>;
export type ComponentForm = keyof typeof COMPONENT_FORMS;
export const DRIVER_NAME = 'hostpath.csi.dev';
export const PLUGIN_NAMESPACE = 'hostpath-csi';
export const PLUGIN_SELECTOR = 'app.kubernetes.io/name=hostpath-csi';
const WORK = path.join(REPO, '.run', 'e2e-pods');
/** The kubelet root deploy/kubernetes names; another one needs components/kubelet-dir, as its README says. */
const DEFAULT_KUBELET_DIR = '/var/lib/kubelet';

/**
 * deploy/kubernetes/overlays/<form> as shipped, composed with
 *   - components/kubelet-dir made for this cluster's kubelet root (only where it is not /var/lib/kubelet), the way
 *     its README tells users of a distribution with another kubelet root to (copy it, replace the path), and
 *   - pods/bridge, the one test-only component (host network, the API server on loopback, state under E2E_ROOT),
 *     only where the cluster lacks a pod network (cluster.env E2E_BRIDGE=1: the local cluster, not kind).
 * Returns the directory to `kubectl apply -k`.
 */
export async function composeOverlay(form: Form): Promise<string> {
  const dir = path.join(WORK, form);
  await rm(WORK, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const fromHere = (p: string) => path.relative(dir, p); // kustomize refuses absolute paths
  const components: string[] = [];
  let overlay: string = form;
  if (form in COMPONENT_FORMS) {
    const variant = COMPONENT_FORMS[form as ComponentForm];
    overlay = variant.overlay;
    components.push(await copyComponent(variant.component, variant.replace));
  }
  if (cluster.kubeletDir !== DEFAULT_KUBELET_DIR) {
    components.push(await copyComponent('kubelet-dir', ['/var/lib/k0s/kubelet', cluster.kubeletDir]));
  }
  if (cluster.bridge) components.push(path.join(REPO, 'test/e2e/local-cluster/pods/bridge'));
  await writeFile(
    path.join(dir, 'kustomization.yaml'),
    [
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      'resources:',
      `  - ${fromHere(path.join(REPO, 'deploy/kubernetes/overlays', overlay))}`,
      ...(components.length ? ['components:', ...components.map((c) => `  - ${fromHere(c)}`)] : []),
      '',
    ].join('\n'),
  );
  return dir;
}

/** A copy of deploy/kubernetes/components/<name> under WORK, with one host path replaced in every file where given. */
async function copyComponent(name: string, replace: readonly [string, string] | undefined): Promise<string> {
  const dir = path.join(WORK, name);
  await cp(path.join(REPO, 'deploy/kubernetes/components', name), dir, { recursive: true });
  if (replace) {
    for (const file of await readdir(dir)) {
      const at = path.join(dir, file);
      await writeFile(at, (await readFile(at, 'utf8')).replaceAll(replace[0], replace[1]));
    }
  }
  return dir;
}

export interface PluginPod {
  metadata: { name: string; uid: string; ownerReferences?: { kind: string; name: string }[] };
  spec: { containers: { name: string; image: string; securityContext?: { privileged?: boolean } }[] };
  status: { containerStatuses?: { name: string; ready: boolean; restartCount: number; image: string }[] };
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

/** Resolves once kubelet lists the driver in the node's CSINode (the registrar registered it). */
export async function waitRegistered(): Promise<void> {
  await waitFor(`kubelet to register ${DRIVER_NAME} (CSINode ${cluster.nodeName})`, async () => {
    const node = await kubectlJson<{ spec: { drivers?: { name: string }[] | null } }>(['get', 'csinode', cluster.nodeName]);
    return (node.spec.drivers ?? []).some((d) => d.name === DRIVER_NAME);
  }, 60_000);
}

/** The plugin's pods ready and the driver registered. */
export async function pluginRegistered(): Promise<void> {
  await pluginPodsReady();
  await waitRegistered();
}

/** `kubectl apply -k` of a composed overlay, then waits until it serves. */
export async function applyOverlay(dir: string): Promise<void> {
  await kubectl(['apply', '-k', dir], undefined, 120_000);
  await pluginRegistered();
}

/** `kubectl delete -k` of the same overlay, waiting for every object to be gone. */
export async function deleteOverlay(dir: string): Promise<void> {
  await kubectl(['delete', '-k', dir, '--ignore-not-found', '--wait=true', '--timeout=180s'], undefined, 190_000);
}

/**
 * Deletes the driver's pod (what the driver-restart case does to a pod deployment; its controller makes a new
 * one, as kubelet would restart a crashed container). Resolves with the old and new pod UIDs once the new pod is
 * ready and the driver registered again.
 */
export async function replaceDriverPod(): Promise<{ before: string; after: string }> {
  const [old] = await pluginPods();
  if (!old) throw new Error('no node plugin pod to delete');
  await kubectl(['-n', PLUGIN_NAMESPACE, 'delete', 'pod', old.metadata.name, '--wait=true', '--timeout=120s'], undefined, 130_000);
  const pods = await waitFor('a new node plugin pod', async () => {
    const ready = await pluginPodsReady();
    return ready.every((p) => p.metadata.uid !== old.metadata.uid) && ready;
  }, 180_000);
  await waitRegistered();
  return { before: old.metadata.uid, after: pods[0]!.metadata.uid };
}
