import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { call, connectCsi } from '../../../helpers/csi-client';
import { kustomize, parseYaml, type K8sObject } from '../../../deploy/manifests';
import { apply, CASE_LABEL, cluster, kubectl, REPO, waitFor } from './cluster';
import { applyOverlay, composeOverlay, deleteOverlay, type Form, pluginPods, replaceDriverPod, waitRegistered } from './node-plugin';
import { planDeployment, type HostContext, type Plan, type PlannedProcess } from './plan';
import { childPid, livePid, startProcess, stopProcess } from './processes';

export { COMPONENT_FORMS, DRIVER_NAME, FORMS, type Form } from './node-plugin';

/**
 * Deploys one form of deploy/kubernetes onto the local cluster, and removes it again, in one of two ways:
 *   - pods: `kubectl apply -k` of the overlay (node-plugin.ts composes it): the image built from the Dockerfile
 *     and the sidecar images, run by kubelet, as users run them;
 *   - processes: the driver and sidecars as host processes with the containers' own arguments (plan.ts says how);
 *     quicker to iterate on (no image build) and the only way to give each sidecar its own ServiceAccount (case 10).
 * The cases 01-09 do not know which: E2E_DEPLOYMENT picks (default pods). The snapshot-controller is a host process
 * in both (cluster infrastructure, not this project's artefact). The suite shares one deployment across test files:
 * the deployed form is recorded in <E2E_ROOT>/deployment.json, and ensureForm() redeploys only when a file needs
 * another form or deployment, or something died.
 */

export type Deployment = 'pods' | 'processes';
export const DEPLOYMENT: Deployment = process.env.E2E_DEPLOYMENT === 'processes' ? 'processes' : 'pods';
export const DRIVER_PROCESS = 'hostpath-csi';
export const SNAPSHOT_CONTROLLER = 'snapshot-controller';

const STATE = path.join(cluster.root, 'deployment.json');
const SNAPSHOT_CONTROLLER_DIR = path.join(REPO, '.tools', 'e2e', 'snapshot-controller');
const GROUP_SNAPSHOT_CRD = 'groupsnapshot.storage.k8s.io_volumegroupsnapshotcontents.yaml';

interface Deployed {
  form: Form;
  deployment: Deployment;
  /** pods: the composed overlay directory, removed with `kubectl delete -k`. */
  overlay?: string;
  /** False until every process runs and kubelet registered the driver: a half-done deploy is redone. */
  ready: boolean;
  /** processes: the host processes and cluster objects; pods: empty (the overlay holds them). */
  plan: Plan;
  /** None where the cluster has its own (cluster.hostSnapshotController false: kind.sh installs it). */
  snapshotController: { objects: K8sObject[]; processes: PlannedProcess[] };
}

export const hostContext: HostContext = {
  nodeName: cluster.nodeName,
  hostRemap: { '/var/lib/hostpath-csi': cluster.stateDir },
  bin: cluster.bin,
  driverCommand: [process.execPath, path.join(REPO, 'dist', 'main.js')],
  kubeconfigFor: (namespace, sa) => path.join(cluster.root, 'serviceaccounts', `${namespace}.${sa}.kubeconfig`),
};

/**
 * Renders the form with the kubelet-dir component pointed at this cluster's kubelet root, as
 * deploy/kubernetes/components/kubelet-dir/kustomization.yaml tells users to do for a kubelet elsewhere.
 */
export async function renderForm(form: Form): Promise<K8sObject[]> {
  // Inside the repository: kustomize only accepts relative paths to other kustomizations.
  const dir = path.join(REPO, '.run', 'e2e-overlays', form);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const component = path.join(dir, 'kubelet-dir');
  await cp(path.join(REPO, 'deploy', 'kubernetes', 'components', 'kubelet-dir'), component, { recursive: true });
  const patch = path.join(component, 'kubelet-dir.yaml');
  await writeFile(patch, (await readFile(patch, 'utf8')).replaceAll('/var/lib/k0s/kubelet', cluster.kubeletDir));
  await writeFile(
    path.join(dir, 'kustomization.yaml'),
    [
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      `resources: [${path.relative(dir, path.join(REPO, 'deploy', 'kubernetes', 'overlays', form))}]`,
      'components: [kubelet-dir]',
      '',
    ].join('\n'),
  );
  return kustomize(path.relative(REPO, dir));
}

/**
 * The snapshot-controller as its upstream manifests deploy it (leader election on, in kube-system), with group
 * snapshots on where the cluster has their CRDs; for the
 * distributed form with what docs/kubernetes.md adds: --enable-distributed-snapshotting and the RBAC rule for nodes
 * that the upstream file ships commented out.
 */
async function snapshotControllerFor(form: Form): Promise<Deployed['snapshotController']> {
  if (!cluster.hostSnapshotController) return { objects: [], processes: [] };
  const rbac = parseYaml(await readFile(path.join(SNAPSHOT_CONTROLLER_DIR, 'rbac-snapshot-controller.yaml'), 'utf8'));
  const setup = parseYaml(await readFile(path.join(SNAPSHOT_CONTROLLER_DIR, 'setup-snapshot-controller.yaml'), 'utf8'));
  if (form === 'distributed') {
    const role = rbac.find((o) => o.kind === 'ClusterRole' && o.metadata.name === 'snapshot-controller-runner') as K8sObject & { rules: object[] };
    role.rules.push({ apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] });
  }
  const plan = planDeployment([...rbac, ...setup.map(asStatefulWorkload)], { ...hostContext, driverCommand: [] });
  const p = plan.processes[0]!;
  if (form === 'distributed') p.argv.push('--enable-distributed-snapshotting');
  // The gate the group-snapshot form needs, as docs/kubernetes.md tells users; only where up.sh installed the
  // groupsnapshot CRDs (build-binaries.sh copies them), since without them the controller would wait for them forever.
  if (existsSync(path.join(REPO, '.tools', 'e2e', 'crds', GROUP_SNAPSHOT_CRD))) p.argv.push('--feature-gates=CSIVolumeGroupSnapshot=true');
  return { objects: plan.objects, processes: [p] };
}

/** plan.ts maps a driver's pod; the snapshot-controller's Deployment is mapped the same way, as its one sidecar. */
function asStatefulWorkload(o: K8sObject): K8sObject {
  if (o.kind !== 'Deployment') return o;
  const w = JSON.parse(JSON.stringify(o)) as K8sObject & { spec: { template: { spec: { containers: { name: string; args?: string[] }[] } } } };
  w.kind = 'StatefulSet';
  for (const c of w.spec.template.spec.containers) c.name = SNAPSHOT_CONTROLLER;
  return w;
}

async function writeKubeconfig(namespace: string, sa: string): Promise<void> {
  const token = (await kubectl(['create', 'token', sa, '-n', namespace, '--duration=24h'])).trim();
  const file = hostContext.kubeconfigFor(namespace, sa);
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'e2e', cluster: { server: cluster.apiserver, 'certificate-authority': path.join(cluster.pki, 'ca.crt') } }],
    users: [{ name: sa, user: { token } }],
    contexts: [{ name: 'e2e', context: { cluster: 'e2e', user: sa, namespace } }],
    'current-context': 'e2e',
  };
  await writeFile(file, JSON.stringify(config), { mode: 0o600 });
}

async function createStandInPod(pod: NonNullable<Plan['standInPod']>): Promise<void> {
  await apply([
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: pod.name, namespace: pod.namespace, labels: { 'app.kubernetes.io/part-of': 'hostpath-csi-e2e' } },
      spec: {
        nodeName: cluster.nodeName,
        hostNetwork: true,
        serviceAccountName: pod.serviceAccount,
        automountServiceAccountToken: false,
        terminationGracePeriodSeconds: 0,
        containers: [{ name: 'stand-in', image: cluster.testImage, imagePullPolicy: 'Never', command: ['sleep', '86400'] }],
      },
    },
  ]);
}

async function waitDriverReady(socket: string): Promise<void> {
  await waitFor('the driver to answer Probe ready', async () => {
    if (!existsSync(socket)) return false;
    const clients = connectCsi(socket);
    try {
      const res = await call(clients.identity.Probe.bind(clients.identity), {});
      return res.ready?.value === true;
    } finally {
      clients.close();
    }
  }, 30_000);
}

export function driverSocket(plan: Plan): string {
  const endpoint = driverProcess(plan).argv.find((a) => a.startsWith('--endpoint='))!;
  return endpoint.slice('--endpoint=unix://'.length);
}

export function driverProcess(plan: Plan): PlannedProcess {
  return plan.processes.find((p) => p.name === DRIVER_PROCESS)!;
}

async function startDriver(plan: Plan): Promise<void> {
  await startProcess(driverProcess(plan));
  await waitDriverReady(driverSocket(plan));
}

/**
 * Restarts the driver the way each deployment loses it. processes: SIGKILL (a crash, not a shutdown), and its
 * supervisor starts it again as kubelet would restart the container. pods: the driver's pod is deleted and its
 * controller makes a new one. Resolves with the old and new pid or pod UID once the new driver serves.
 */
export async function crashDriver(): Promise<{ before: string; after: string }> {
  const deployed = await readDeployed();
  if (!deployed) throw new Error('nothing is deployed');
  if (deployed.deployment === 'pods') return replaceDriverPod();
  const before = await childPid(DRIVER_PROCESS);
  if (before === undefined) throw new Error('the driver is not running');
  process.kill(before, 'SIGKILL');
  const after = await waitFor('the driver to be started again', async () => {
    const pid = await childPid(DRIVER_PROCESS);
    return pid !== undefined && pid !== before && pid;
  }, 30_000);
  await waitDriverReady(driverSocket(deployed.plan));
  return { before: String(before), after: String(after) };
}

const NO_PLAN: Plan = { objects: [], processes: [], skipped: [] };

async function deploy(form: Form, deployment: Deployment): Promise<Deployed> {
  const plan = deployment === 'processes' ? planDeployment(await renderForm(form), hostContext) : NO_PLAN;
  const snapshotController = await snapshotControllerFor(form);
  const deployed: Deployed = { form, deployment, ready: false, plan, snapshotController };
  if (deployment === 'pods') deployed.overlay = await composeOverlay(form);
  // Written first, so undeploy() can clean up after a deploy that fails half-way.
  await writeFile(STATE, JSON.stringify(deployed));
  if (plan.objects.length) await apply(plan.objects);
  if (snapshotController.objects.length) await apply(snapshotController.objects);
  for (const p of [...plan.processes, ...snapshotController.processes]) {
    if (p.serviceAccount) await writeKubeconfig(p.serviceAccount.namespace, p.serviceAccount.name);
  }
  if (plan.standInPod) await createStandInPod(plan.standInPod);
  if (deployment === 'processes') {
    await startDriver(plan);
    for (const p of plan.processes) if (p.name !== DRIVER_PROCESS) await startProcess(p);
  }
  for (const p of snapshotController.processes) await startProcess(p);
  if (deployed.overlay) await applyOverlay(deployed.overlay);
  await waitRegistered();
  deployed.ready = true;
  await writeFile(STATE, JSON.stringify(deployed));
  return deployed;
}

async function readDeployed(): Promise<Deployed | undefined> {
  try {
    return JSON.parse(await readFile(STATE, 'utf8')) as Deployed;
  } catch {
    return undefined;
  }
}

/**
 * Stops the processes and deletes the cluster objects of the deployed form (the snapshot CRDs stay). First waits
 * for the cases' namespaces to finish terminating, while the driver can still clean up what they held.
 */
export async function undeploy(): Promise<void> {
  const deployed = await readDeployed();
  if (!deployed) return;
  const terminating = (await kubectl(['get', 'namespace', '-l', `${CASE_LABEL}=true`, '-o', 'name'])).split('\n').filter(Boolean);
  if (terminating.length) await kubectl(['wait', '--for=delete', ...terminating, '--timeout=180s'], undefined, 190_000);
  if (deployed.overlay) await deleteOverlay(deployed.overlay);
  for (const p of [...deployed.plan.processes, ...deployed.snapshotController.processes].reverse()) await stopProcess(p.name);
  const objects = [...deployed.plan.objects, ...deployed.snapshotController.objects].filter((o) => o.kind !== 'Namespace' || o.metadata.name !== 'kube-system');
  if (objects.length) await kubectl(['delete', '--ignore-not-found', '--wait=true', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }), 180_000);
  await rm(STATE, { force: true });
}

async function alive(deployed: Deployed): Promise<boolean> {
  const names = [...deployed.plan.processes, ...deployed.snapshotController.processes].map((p) => p.name);
  const processes = await Promise.all(names.map(async (n) => (await livePid(n)) !== undefined));
  if (!processes.every(Boolean)) return false;
  if (deployed.deployment === 'processes') return true;
  const pods = await pluginPods();
  return pods.length > 0 && pods.every((p) => (p.status.containerStatuses ?? []).every((c) => c.ready));
}

/** Makes sure `form` is deployed (E2E_DEPLOYMENT unless a case needs one) and alive; returns its plan (processes). */
export async function ensureForm(form: Form, deployment: Deployment = DEPLOYMENT): Promise<Plan> {
  const current = await readDeployed();
  if (current?.form === form && current.deployment === deployment && current.ready && (await alive(current))) return current.plan;
  await undeploy();
  return (await deploy(form, deployment)).plan;
}
