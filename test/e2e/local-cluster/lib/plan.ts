import path from 'node:path';
import type { Container, K8sObject, PodSpec, Workload } from '../../../deploy/manifests';

/**
 * Turns a rendered deployment form (kustomize output) into what the local cluster runs: the cluster objects to
 * apply, and one host process per container of the driver's pod, with the container's own arguments. Pure: it
 * only maps the pod's context onto the host.
 *
 * What is mapped, and nothing else:
 * - a path under a container's volumeMount becomes the path under that volume's hostPath (with HOST_REMAP applied,
 *   so the driver's state directory is the cluster's, not a real /var/lib/hostpath-csi);
 * - `$(VAR)` from the container's env (fieldRefs: the node name, the namespace, the stand-in pod's name);
 * - a listen address `:port` becomes `127.0.0.1:port` (a pod has its own network namespace; a host process not);
 * - what a container gets implicitly from its pod: the registrar's default `/registration` directory, the namespace
 *   for leader election, and a kubeconfig for the sidecar's own ServiceAccount.
 * Each sidecar that talks to the API server gets its own ServiceAccount, named after its container, and the
 * RoleBindings/ClusterRoleBindings of that sidecar's RBAC (label app.kubernetes.io/component) are bound to it
 * instead of the pod's shared ServiceAccount: a rule missing from one sidecar's RBAC fails the suite.
 */

export interface HostContext {
  nodeName: string;
  /** Host directories that replace hostPath volumes at or below a key (the driver's data directory). */
  hostRemap: Record<string, string>;
  /** The binaries directory (.tools/e2e/bin). */
  bin: string;
  /** How the driver container's entrypoint runs here: [node, dist/main.js]. */
  driverCommand: string[];
  /** The kubeconfig file a ServiceAccount's token will be written to. */
  kubeconfigFor(namespace: string, serviceAccount: string): string;
}

export interface PlannedProcess {
  name: string;
  container: string;
  argv: string[];
  env: Record<string, string>;
  /** The ServiceAccount it authenticates as (none: it does not talk to the API server). */
  serviceAccount?: { namespace: string; name: string };
}

export interface Plan {
  objects: K8sObject[];
  processes: PlannedProcess[];
  /** A pod object the processes name in $(POD_NAME) (owner of CSIStorageCapacity objects), if any reads it. */
  standInPod?: { namespace: string; name: string; serviceAccount: string };
  skipped: { container: string; why: string }[];
}

const DRIVER_CONTAINER = 'hostpath-csi';
/** Sidecar container name -> binary in .tools/e2e/bin. */
const SIDECAR_BINARIES: Record<string, string> = {
  'csi-provisioner': 'csi-provisioner',
  'csi-attacher': 'csi-attacher',
  'csi-resizer': 'csi-resizer',
  'csi-snapshotter': 'csi-snapshotter',
  'node-driver-registrar': 'hostpath-csi-registrar',
  // Not a sidecar of the driver's pod: deployment.ts maps external-snapshotter's own Deployment the same way.
  'snapshot-controller': 'snapshot-controller',
};
/** Sidecars that do not talk to the API server (no ServiceAccount, no kubeconfig). */
const NO_API = new Set([DRIVER_CONTAINER, 'node-driver-registrar']);
const SKIPPED: Record<string, string> = {
  'liveness-probe':
    'livenessprobe only answers kubelet liveness probes of the driver pod, and here the driver is a host process; ' +
    'its v2 module is not servable by the Go module proxy either',
  'csi-external-health-monitor-controller':
    'github.com/kubernetes-csi/external-health-monitor is refused by the Go module proxy (403 "not available"), so no ' +
    'host binary can be built for it; the PVC-Event e2e case needs it',
};
/** Flags a container leaves at a default that names a path inside the pod. */
const IMPLICIT_PATH_FLAGS: Record<string, Record<string, string>> = {
  'node-driver-registrar': { 'plugin-registration-path': '/registration' },
};

function workloadOf(objects: K8sObject[]): Workload {
  const found = objects.filter((o) => o.kind === 'StatefulSet' || o.kind === 'DaemonSet') as Workload[];
  if (found.length !== 1) throw new Error(`expected one StatefulSet or DaemonSet, found ${found.length}`);
  return found[0]!;
}

export function hostPathOf(spec: PodSpec, c: Container, containerPath: string, ctx: HostContext): string {
  const mount = (c.volumeMounts ?? [])
    .filter((m) => containerPath === m.mountPath || containerPath.startsWith(`${m.mountPath}/`))
    .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  if (!mount) return containerPath;
  const hostPath = spec.volumes?.find((v) => v.name === mount.name)?.hostPath?.path;
  if (!hostPath) throw new Error(`${c.name}: volume ${mount.name} at ${mount.mountPath} is not a hostPath`);
  const onHost = hostPath + containerPath.slice(mount.mountPath.length);
  for (const [from, to] of Object.entries(ctx.hostRemap)) {
    if (onHost === from || onHost.startsWith(`${from}/`)) return to + onHost.slice(from.length);
  }
  return onHost;
}

function fieldValue(fieldPath: string, namespace: string, podName: string, ctx: HostContext): string {
  switch (fieldPath) {
    case 'spec.nodeName':
      return ctx.nodeName;
    case 'metadata.namespace':
      return namespace;
    case 'metadata.name':
      return podName;
    default:
      throw new Error(`no host value for fieldRef ${fieldPath}`);
  }
}

function containerEnv(c: Container, namespace: string, podName: string, ctx: HostContext): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    const ref = e.valueFrom?.fieldRef?.fieldPath;
    env[e.name] = ref ? fieldValue(ref, namespace, podName, ctx) : (e.value ?? '');
  }
  return env;
}

function translateArg(arg: string, spec: PodSpec, c: Container, env: Record<string, string>, ctx: HostContext): string {
  const expanded = arg.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => env[name] ?? whole);
  const m = /^(--[^=]+)=(.*)$/.exec(expanded);
  if (!m) return expanded;
  const [, flag, value] = m as unknown as [string, string, string];
  if (value.startsWith('unix:///')) return `${flag}=unix://${hostPathOf(spec, c, value.slice('unix://'.length), ctx)}`;
  if (value.startsWith('/')) return `${flag}=${hostPathOf(spec, c, value, ctx)}`;
  if (/^:\d+$/.test(value)) return `${flag}=127.0.0.1${value}`;
  return expanded;
}

function hasFlag(args: string[], name: string): boolean {
  return args.some((a) => a === `--${name}` || a.startsWith(`--${name}=`));
}

function implicitArgs(spec: PodSpec, c: Container, args: string[], namespace: string, ctx: HostContext): string[] {
  const extra: string[] = [];
  for (const [name, podDefault] of Object.entries(IMPLICIT_PATH_FLAGS[c.name] ?? {})) {
    if (!hasFlag(args, name)) extra.push(`--${name}=${hostPathOf(spec, c, podDefault, ctx)}`);
  }
  // In a pod, leader election defaults to the pod's namespace (read from the ServiceAccount mount).
  const le = args.find((a) => a === '--leader-election' || a.startsWith('--leader-election='));
  if (le && le !== '--leader-election=false' && !hasFlag(args, 'leader-election-namespace')) {
    extra.push(`--leader-election-namespace=${namespace}`);
  }
  if (!NO_API.has(c.name)) extra.push(`--kubeconfig=${ctx.kubeconfigFor(namespace, c.name)}`);
  return extra;
}

function processFor(spec: PodSpec, c: Container, namespace: string, podName: string, ctx: HostContext): PlannedProcess {
  const env = containerEnv(c, namespace, podName, ctx);
  const args = (c.args ?? []).map((a) => translateArg(a, spec, c, env, ctx));
  const command = c.name === DRIVER_CONTAINER ? ctx.driverCommand : [path.join(ctx.bin, SIDECAR_BINARIES[c.name]!)];
  return {
    name: c.name,
    container: c.name,
    argv: [...command, ...args, ...implicitArgs(spec, c, args, namespace, ctx)],
    env,
    ...(NO_API.has(c.name) ? {} : { serviceAccount: { namespace, name: c.name } }),
  };
}

interface Binding extends K8sObject {
  subjects?: { kind: string; name: string; namespace?: string }[];
}

/** The cluster objects: all but the workload, plus one ServiceAccount per API-using sidecar, bindings moved to it. */
function clusterObjects(objects: K8sObject[], processes: PlannedProcess[]): K8sObject[] {
  const sidecarSAs = new Map(processes.filter((p) => p.serviceAccount).map((p) => [p.container, p.serviceAccount!]));
  const out = objects
    .filter((o) => o.kind !== 'StatefulSet' && o.kind !== 'DaemonSet')
    .map((o) => {
      const sa = sidecarSAs.get(o.metadata.labels?.['app.kubernetes.io/component'] ?? '');
      if (!sa || (o.kind !== 'RoleBinding' && o.kind !== 'ClusterRoleBinding')) return o;
      return { ...o, subjects: [{ kind: 'ServiceAccount', name: sa.name, namespace: sa.namespace }] } as Binding;
    });
  const serviceAccounts = [...sidecarSAs.values()].map((sa) => ({
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: sa.name, namespace: sa.namespace, labels: { 'app.kubernetes.io/part-of': 'hostpath-csi-e2e' } },
  }));
  // Namespaces first, so the ServiceAccounts in them can be created in the same apply.
  return [...out.filter((o) => o.kind === 'Namespace'), ...serviceAccounts, ...out.filter((o) => o.kind !== 'Namespace')];
}

export function planDeployment(objects: K8sObject[], ctx: HostContext): Plan {
  const w = workloadOf(objects);
  const namespace = w.metadata.namespace ?? 'default';
  const spec = w.spec.template.spec;
  const podName = `${w.metadata.name}-${ctx.nodeName}`;
  const skipped: Plan['skipped'] = [];
  const processes: PlannedProcess[] = [];
  for (const c of spec.containers) {
    if (SKIPPED[c.name]) skipped.push({ container: c.name, why: SKIPPED[c.name]! });
    else if (c.name === DRIVER_CONTAINER || SIDECAR_BINARIES[c.name]) processes.push(processFor(spec, c, namespace, podName, ctx));
    else throw new Error(`container ${c.name} of ${w.kind}/${w.metadata.name} has no host-process mapping in plan.ts`);
  }
  const readsPodName = spec.containers.some((c) => c.env?.some((e) => e.valueFrom?.fieldRef?.fieldPath === 'metadata.name'));
  return {
    objects: clusterObjects(objects, processes),
    processes,
    ...(readsPodName ? { standInPod: { namespace, name: podName, serviceAccount: spec.serviceAccountName ?? 'default' } } : {}),
    skipped,
  };
}
