import { randomBytes } from 'node:crypto';
import { CASE_LABEL, cluster, create, kubectl, kubectlJson, waitFor } from './cluster';
import { diagnostics, logMarks } from './diagnostics';
import { DRIVER_NAME } from './deployment';

/** Builders for the objects a case creates, and the per-case namespace that isolates and cleans up each case. */

export const STORAGE_CLASS = 'hostpath-csi';
export const SNAPSHOT_CLASS = 'hostpath-csi';

export interface PvcOptions {
  size?: string;
  storageClass?: string;
  volumeMode?: 'Filesystem' | 'Block';
  accessModes?: string[];
  dataSource?: { apiGroup?: string; kind: string; name: string };
}

export function pvc(name: string, o: PvcOptions = {}): object {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name },
    spec: {
      storageClassName: o.storageClass ?? STORAGE_CLASS,
      accessModes: o.accessModes ?? ['ReadWriteOnce'],
      volumeMode: o.volumeMode ?? 'Filesystem',
      resources: { requests: { storage: o.size ?? '64Mi' } },
      ...(o.dataSource ? { dataSource: o.dataSource } : {}),
    },
  };
}

export interface PodOptions {
  /** A PVC mounted at /data (Filesystem) or attached as /dev/xvda (block). */
  claim?: string;
  block?: boolean;
  /** A CSI inline volume at /data instead of a PVC. */
  inline?: Record<string, string>;
  /** Runs once (restartPolicy Never) when given; otherwise the pod sleeps and the case uses exec. */
  script?: string;
}

export function pod(name: string, o: PodOptions): object {
  const volumes: object[] = [];
  const container: Record<string, unknown> = {
    name: 'test',
    image: cluster.testImage,
    imagePullPolicy: 'Never',
    command: o.script ? ['sh', '-c', `set -e; ${o.script}`] : ['sleep', '3600'],
  };
  if (o.claim) volumes.push({ name: 'vol', persistentVolumeClaim: { claimName: o.claim } });
  if (o.inline) volumes.push({ name: 'vol', csi: { driver: DRIVER_NAME, volumeAttributes: o.inline } });
  if (volumes.length) {
    container[o.block ? 'volumeDevices' : 'volumeMounts'] = [o.block ? { name: 'vol', devicePath: '/dev/xvda' } : { name: 'vol', mountPath: '/data' }];
  }
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      hostNetwork: true,
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 0,
      automountServiceAccountToken: false,
      containers: [container],
      volumes,
    },
  };
}

/** A StorageClass for this driver; the deploy/ one is `hostpath-csi`, this is for what a case varies. */
export function storageClass(o: { volumeBindingMode?: string; allowVolumeExpansion?: boolean; parameters?: Record<string, string> }): {
  kind: string;
  [field: string]: unknown;
} {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    provisioner: DRIVER_NAME,
    reclaimPolicy: 'Delete',
    volumeBindingMode: o.volumeBindingMode ?? 'Immediate',
    allowVolumeExpansion: o.allowVolumeExpansion ?? true,
    ...(o.parameters ? { parameters: o.parameters } : {}),
  };
}

export function volumeSnapshot(name: string, sourcePvc: string): object {
  return {
    apiVersion: 'snapshot.storage.k8s.io/v1',
    kind: 'VolumeSnapshot',
    metadata: { name },
    spec: { volumeSnapshotClassName: SNAPSHOT_CLASS, source: { persistentVolumeClaimName: sourcePvc } },
  };
}

/** One case's namespace: create → run → on failure attach diagnostics → delete (waiting for its PVs to go). */
export class CaseNamespace {
  /** Cluster-scoped objects the case made (a StorageClass of its own), deleted with the namespace. */
  private readonly clusterScoped: { kind: string; name: string }[] = [];

  private constructor(readonly name: string) {}

  static async create(caseName: string): Promise<CaseNamespace> {
    const name = `e2e-${caseName}-${randomBytes(3).toString('hex')}`;
    await kubectl(['create', 'namespace', name]);
    await kubectl(['label', 'namespace', name, `${CASE_LABEL}=true`]);
    await waitFor(`ServiceAccount default in ${name}`, async () => (await kubectl(['get', 'sa', 'default', '-n', name]), true), 30_000);
    return new CaseNamespace(name);
  }

  create(...objects: object[]): Promise<void> {
    return create(objects.map((o) => ({ ...o, metadata: { ...(o as { metadata: object }).metadata, namespace: this.name } })));
  }

  /** Creates a cluster-scoped object named after the namespace (unique per case); returns its name. */
  async createClusterScoped(o: { kind: string; metadata?: object; [field: string]: unknown }): Promise<string> {
    const name = this.name;
    await create([{ ...o, metadata: { ...o.metadata, name, labels: { 'app.kubernetes.io/part-of': 'hostpath-csi-e2e' } } }]);
    this.clusterScoped.push({ kind: o.kind, name });
    return name;
  }

  kubectl(args: string[], input?: string, timeoutMs?: number): Promise<string> {
    return kubectl(['-n', this.name, ...args], input, timeoutMs);
  }

  get<T>(kind: string, name: string): Promise<T> {
    return kubectlJson<T>(['-n', this.name, 'get', kind, name]);
  }

  waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs?: number): Promise<T> {
    return waitFor(`${what} (namespace ${this.name})`, check, timeoutMs);
  }

  async pvcPhase(name: string): Promise<string> {
    return (await this.get<{ status: { phase: string } }>('pvc', name)).status.phase;
  }

  /** The PV bound to a claim. */
  async pvOf(claim: string): Promise<Pv> {
    const c = await this.get<{ spec: { volumeName?: string } }>('pvc', claim);
    if (!c.spec.volumeName) throw new Error(`PVC ${claim} is not bound`);
    return kubectlJson<Pv>(['get', 'pv', c.spec.volumeName]);
  }

  waitBound(claim: string, timeoutMs = 90_000): Promise<Pv> {
    return waitFor(`PVC ${this.name}/${claim} to be Bound`, async () => (await this.pvcPhase(claim)) === 'Bound' && this.pvOf(claim), timeoutMs);
  }

  waitPodPhase(podName: string, phases: string[], timeoutMs = 120_000): Promise<string> {
    return waitFor(`pod ${this.name}/${podName} to reach ${phases.join(' or ')}`, async () => {
      const p = await this.get<{ status: { phase: string } }>('pod', podName);
      if (p.status.phase === 'Failed' && !phases.includes('Failed')) {
        throw new Error(`pod ${podName} failed: ${await this.kubectl(['logs', podName]).catch(() => '')}`);
      }
      return phases.includes(p.status.phase) && p.status.phase;
    }, timeoutMs);
  }

  /** Creates a pod that runs a script once; waits for it to succeed; returns its output. */
  async run(podName: string, o: PodOptions & { script: string }): Promise<string> {
    await this.create(pod(podName, o));
    await this.waitPodPhase(podName, ['Succeeded']);
    return this.kubectl(['logs', podName]);
  }

  async startPod(podName: string, o: PodOptions): Promise<void> {
    await this.create(pod(podName, o));
    await this.waitPodPhase(podName, ['Running']);
  }

  exec(podName: string, script: string): Promise<string> {
    return this.kubectl(['exec', podName, '--', 'sh', '-c', `set -e; ${script}`]);
  }

  /** Deletes and waits for the pod object to go (its containers stopped; kubelet may still be unmounting). */
  async deletePod(podName: string): Promise<void> {
    await this.kubectl(['delete', 'pod', podName, '--wait=true', '--timeout=120s'], undefined, 130_000);
  }

  async deletePvc(claim: string): Promise<void> {
    await this.kubectl(['delete', 'pvc', claim, '--wait=true', '--timeout=120s'], undefined, 130_000);
  }

  /** The first Event of this reason in the namespace whose object is the given one (a Pod, a PersistentVolumeClaim). */
  waitForEvent(reason: string, on: { kind: string; name: string }, timeoutMs: number): Promise<CaseEvent> {
    return this.waitFor(`a ${reason} Event on ${on.kind} ${on.name}`, async () => {
      const events = await kubectlJson<{ items: CaseEvent[] }>(['-n', this.name, 'get', 'events', '--field-selector', `reason=${reason}`]);
      return events.items.find((e) => e.involvedObject.kind === on.kind && e.involvedObject.name === on.name);
    }, timeoutMs);
  }

  waitPvGone(pv: string, timeoutMs = 120_000): Promise<true> {
    return waitFor(`PV ${pv} to be deleted`, async () => (await kubectl(['get', 'pv', '--ignore-not-found', pv])).trim() === '', timeoutMs);
  }

  /**
   * Deletes the namespace and waits for the PVs its claims had to be deleted (so their volumes are unmounted,
   * detached and gone from the driver). The namespace object itself finishes terminating in the background;
   * undeploy() waits for all of them at the end.
   */
  async destroy(): Promise<void> {
    const pvs = await kubectlJson<{ items: Pv[] }>(['get', 'pv']);
    const ours = pvs.items.filter((pv) => pv.spec.claimRef?.namespace === this.name).map((pv) => pv.metadata.name);
    await kubectl(['delete', 'namespace', this.name, '--wait=false']);
    for (const pv of ours) await this.waitPvGone(pv);
    for (const o of this.clusterScoped) await kubectl(['delete', '--ignore-not-found', o.kind, o.name]);
  }
}

export interface CaseEvent {
  reason: string;
  type: string;
  message: string;
  involvedObject: { kind: string; name: string };
}

export interface Pv {
  metadata: { name: string };
  spec: {
    capacity: { storage: string };
    claimRef?: { namespace: string; name: string };
    csi: { driver: string; volumeHandle: string; volumeAttributes?: Record<string, string> };
    nodeAffinity?: { required: { nodeSelectorTerms: { matchExpressions: { key: string; operator: string; values: string[] }[] }[] } };
  };
}

/**
 * Runs one case in its own namespace with a time limit. On failure the error carries `kubectl describe` of the
 * namespace's objects and the driver's and sidecars' log lines written during the case. The namespace is always
 * deleted (and its PVs waited for), so the next case starts clean.
 */
export async function inNamespace(caseName: string, timeoutMs: number, body: (ns: CaseNamespace) => Promise<void>): Promise<void> {
  const marks = await logMarks();
  const ns = await CaseNamespace.create(caseName);
  let failure: unknown;
  try {
    await withTimeout(body(ns), timeoutMs, `case ${caseName}`);
  } catch (err) {
    failure = err;
  }
  if (failure !== undefined) {
    const details = await diagnostics(ns.name, marks).catch((e: unknown) => `(diagnostics failed: ${String(e)})`);
    const message = failure instanceof Error ? failure.message : String(failure);
    const wrapped = new Error(`${message}\n\n${details}`);
    if (failure instanceof Error && failure.stack) wrapped.stack = `${wrapped.message}\n${failure.stack.split('\n').slice(1).join('\n')}`;
    await ns.destroy().catch(() => undefined);
    throw wrapped;
  }
  await ns.destroy();
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms / 1000}s`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

interface SnapshotStatus {
  status?: { readyToUse?: boolean; error?: { message?: string }; restoreSize?: string };
}

/** Waits for a VolumeSnapshot to be readyToUse; fails at once on a snapshot error. */
export function snapshotReady(ns: CaseNamespace, name: string, timeoutMs = 120_000): Promise<SnapshotStatus> {
  return waitFor(`VolumeSnapshot ${ns.name}/${name} to be ready`, async () => {
    const s = await ns.get<SnapshotStatus>('volumesnapshot', name);
    if (s.status?.error?.message) throw new Error(`snapshot ${name}: ${s.status.error.message}`);
    return s.status?.readyToUse === true && s;
  }, timeoutMs);
}

/** A pod script that appends a line to /data/log every 200 ms until it is deleted: a workload doing I/O. */
export const APPENDING = 'while true; do date >> /data/log; sleep 0.2; done';

/** Lines an APPENDING pod has written so far. */
export async function linesWritten(ns: CaseNamespace, podName: string): Promise<number> {
  return Number((await ns.exec(podName, 'wc -l < /data/log')).trim());
}

/** Waits until an APPENDING pod has written more lines than it had when called: its I/O goes on. */
export async function keepsWriting(ns: CaseNamespace, podName: string): Promise<void> {
  const than = await linesWritten(ns, podName).catch(() => 0);
  await waitFor(`pod ${podName} to keep writing`, async () => (await linesWritten(ns, podName)) > than, 30_000);
}
