import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Rendering helpers for the deploy tests: kustomize and helm from .tools/bin (scripts/install-deploy-tools.sh). */

export const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, '.tools', 'bin');
const KUSTOMIZE = path.join(BIN, 'kustomize');
const HELM = path.join(BIN, 'helm');
const YAML2JSON = path.join(BIN, 'yaml2json');

export const CHART = path.join(ROOT, 'deploy', 'helm', 'hostpath-csi');
export const OVERLAYS = ['single-node', 'single-node-no-attach', 'single-node-health', 'single-node-group-snapshots', 'distributed'] as const;
export type Overlay = (typeof OVERLAYS)[number];

const missingTools = [KUSTOMIZE, HELM, YAML2JSON].filter((t) => !existsSync(t)).map((t) => path.basename(t));
/** Empty when the tools are installed; otherwise what the skipped suites' titles say. */
export const NEEDS_TOOLS = missingTools.length
  ? ` [SKIPPED: ${missingTools.join(', ')} missing from .tools/bin: run scripts/install-deploy-tools.sh]`
  : '';
export const haveTools = missingTools.length === 0;
if (!haveTools) console.warn(`deploy tests skipped:${NEEDS_TOOLS}`);

export const PACKAGE_VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** A Kubernetes object as rendered: only the fields every object has are typed; tests narrow the rest. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string } };
}
export interface VolumeMount {
  name: string;
  mountPath: string;
  mountPropagation?: string;
}
export interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: EnvVar[];
  ports?: { name?: string; containerPort: number }[];
  volumeMounts?: VolumeMount[];
  securityContext?: { privileged?: boolean };
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  startupProbe?: { httpGet?: { path: string; port: string | number }; periodSeconds?: number; failureThreshold?: number };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  imagePullPolicy?: string;
}
export interface Volume {
  name: string;
  hostPath?: { path: string; type?: string };
  persistentVolumeClaim?: { claimName: string };
  csi?: { driver: string; volumeAttributes?: Record<string, string> };
}
export interface PodSpec {
  serviceAccountName?: string;
  containers: Container[];
  volumes?: Volume[];
  [field: string]: unknown;
}
export interface Workload extends K8sObject {
  spec: { replicas?: number; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } };
}

/** Parses a YAML stream with sigs.k8s.io/yaml (the YAML library kubectl uses), through .tools/bin/yaml2json. */
export function parseYaml(text: string): K8sObject[] {
  return JSON.parse(execFileSync(YAML2JSON, { input: text, encoding: 'utf8' })) as K8sObject[];
}

/** `kustomize build` of a directory (relative to the repository root). */
export function kustomize(dir: string): K8sObject[] {
  return parseYaml(execFileSync(KUSTOMIZE, ['build', path.join(ROOT, dir)], { encoding: 'utf8' }));
}

/** `helm template` of the chart into namespace hostpath-csi, for the oldest Kubernetes it supports. */
export function helmTemplate(values: Record<string, string> = {}): K8sObject[] {
  const set = Object.entries(values).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
  const args = ['template', 'hostpath-csi', CHART, '--namespace', 'hostpath-csi', '--kube-version', '1.34.0', ...set];
  return parseYaml(execFileSync(HELM, args, { encoding: 'utf8' }));
}

/** Runs helm with the given arguments; returns the exit status and everything it printed. */
export function helm(args: string[]): { status: number; output: string } {
  try {
    return { status: 0, output: execFileSync(HELM, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
  } catch (err) {
    const e = err as { status: number | null; stdout?: string; stderr?: string };
    return { status: e.status ?? -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

export function ofKind<T extends K8sObject = K8sObject>(objects: K8sObject[], kind: string): T[] {
  return objects.filter((o) => o.kind === kind) as T[];
}

export function one<T extends K8sObject = K8sObject>(objects: K8sObject[], kind: string): T {
  const found = ofKind<T>(objects, kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0]!;
}

/** The driver's StatefulSet or DaemonSet (exactly one per rendering). */
export function workload(objects: K8sObject[]): Workload {
  const found = objects.filter((o) => o.kind === 'StatefulSet' || o.kind === 'DaemonSet') as Workload[];
  if (found.length !== 1) throw new Error(`expected one StatefulSet or DaemonSet, found ${found.length}`);
  return found[0]!;
}

export function container(spec: PodSpec, name: string): Container {
  const c = spec.containers.find((x) => x.name === name);
  if (!c) throw new Error(`no container ${name}; containers: ${spec.containers.map((x) => x.name).join(', ')}`);
  return c;
}

export function hasContainer(spec: PodSpec, name: string): boolean {
  return spec.containers.some((c) => c.name === name);
}

/** The value of `--flag=value` in args (undefined if absent; '' for a bare `--flag`). */
export function flag(args: readonly string[] | undefined, name: string): string | undefined {
  for (const a of args ?? []) {
    if (a === `--${name}`) return '';
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
  }
  return undefined;
}

/** The hostPath behind the volume a container mounts at mountPath. */
export function hostPathAt(spec: PodSpec, c: Container, mountPath: string): { path: string; mount: VolumeMount } {
  const mount = c.volumeMounts?.find((m) => m.mountPath === mountPath);
  if (!mount) throw new Error(`${c.name} mounts nothing at ${mountPath}`);
  const vol = spec.volumes?.find((v) => v.name === mount.name);
  if (!vol?.hostPath) throw new Error(`volume ${mount.name} of ${c.name} is not a hostPath`);
  return { path: vol.hostPath.path, mount };
}

export function envFieldRef(c: Container, name: string): string | undefined {
  return c.env?.find((e) => e.name === name)?.valueFrom?.fieldRef?.fieldPath;
}

function sortBy<T>(items: T[] | undefined, field: (t: T) => string): void {
  items?.sort((a, b) => field(a).localeCompare(field(b)));
}

/**
 * Same object minus what legitimately differs between kustomize and helm output: labels and annotations (helm adds
 * its own), imagePullPolicy (the chart sets the default explicitly), and the order of lists Kubernetes merges by key
 * (a kustomize patch moves the entries it touches to the front).
 */
export function substance(o: K8sObject): unknown {
  const copy = JSON.parse(JSON.stringify(o)) as Record<string, unknown> & K8sObject;
  delete copy.metadata.labels;
  delete copy.metadata.annotations;
  const tmpl = (copy as unknown as Partial<Workload>).spec?.template;
  if (tmpl) {
    delete (tmpl.metadata as { labels?: unknown }).labels;
    sortBy(tmpl.spec.containers, (c) => c.name);
    sortBy(tmpl.spec.volumes, (v) => v.name);
    for (const c of tmpl.spec.containers) {
      delete c.imagePullPolicy;
      sortBy(c.volumeMounts, (m) => m.mountPath);
      sortBy(c.env, (e) => e.name);
    }
  }
  return copy;
}

export function key(o: K8sObject): string {
  return `${o.kind}/${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
}
