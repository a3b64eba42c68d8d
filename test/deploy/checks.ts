import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  container,
  envFieldRef,
  flag,
  hasContainer,
  hostPathAt,
  one,
  ofKind,
  PACKAGE_VERSION,
  type K8sObject,
  type PodSpec,
  type Workload,
  workload,
} from './manifests';
import { describeNorms, driverConfig } from './norms';

/** What one rendering of the deployment (a kustomize overlay or a helm values set) must look like. */
export interface Expected {
  form: 'single-node' | 'distributed';
  attach: boolean;
  driverName: string;
  kubeletDir: string;
  dataDir: string;
}

export const DEFAULTS: Omit<Expected, 'form' | 'attach'> = {
  driverName: 'hostpath.csi.dev',
  kubeletDir: '/var/lib/kubelet',
  dataDir: '/var/lib/hostpath-csi',
};

export const SIDECAR_IMAGES: Record<string, string> = {
  'csi-provisioner': 'registry.k8s.io/sig-storage/csi-provisioner:v6.3.0',
  'csi-attacher': 'registry.k8s.io/sig-storage/csi-attacher:v4.12.0',
  'csi-resizer': 'registry.k8s.io/sig-storage/csi-resizer:v2.2.1',
  'csi-snapshotter': 'registry.k8s.io/sig-storage/csi-snapshotter:v8.6.0',
  'csi-external-health-monitor-controller': 'registry.k8s.io/sig-storage/csi-external-health-monitor-controller:v0.18.0',
  'node-driver-registrar': 'registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.17.0',
  'liveness-probe': 'registry.k8s.io/sig-storage/livenessprobe:v2.19.0',
};

/** The roles each sidecar's own rbac.yaml defines (ClusterRole renamed with our prefix, Role as upstream). */
const SIDECAR_ROLES: Record<string, { clusterRole: string; role: string }> = {
  'csi-provisioner': { clusterRole: 'hostpath-csi-external-provisioner-runner', role: 'external-provisioner-cfg' },
  'csi-attacher': { clusterRole: 'hostpath-csi-external-attacher-runner', role: 'external-attacher-cfg' },
  'csi-resizer': { clusterRole: 'hostpath-csi-external-resizer-runner', role: 'external-resizer-cfg' },
  'csi-snapshotter': { clusterRole: 'hostpath-csi-external-snapshotter-runner', role: 'external-snapshotter-leaderelection' },
  'csi-external-health-monitor-controller': {
    clusterRole: 'hostpath-csi-external-health-monitor-controller-runner',
    role: 'external-health-monitor-controller-cfg',
  },
};

const SOCKET_DIR_IN_POD = '/csi';
const SOCKET_IN_POD = '/csi/csi.sock';

interface StorageClassObj extends K8sObject {
  parameters?: Record<string, string>;
  reclaimPolicy?: string;
  volumeBindingMode?: string;
  allowVolumeExpansion?: boolean;
}

interface Binding extends K8sObject {
  subjects: { kind: string; name: string; namespace?: string }[];
  roleRef: { kind: string; name: string };
}

/** An image reference pinned to a tag other than latest, or to a digest. */
export function isPinned(image: string): boolean {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return true;
  const tag = /:([^/:]+)$/.exec(image)?.[1];
  return tag !== undefined && tag !== 'latest';
}

function bindsTo(b: Binding, roleKind: string, roleName: string, sa: string, ns: string): boolean {
  return (
    b.roleRef.kind === roleKind &&
    b.roleRef.name === roleName &&
    b.subjects.some((s) => s.kind === 'ServiceAccount' && s.name === sa && s.namespace === ns)
  );
}

/** Defines the checks every rendering must pass, as one test per property. */
export function describeDeployment(title: string, render: () => K8sObject[], exp: Expected, skip = false): void {
  describe.skipIf(skip)(title, () => {
    let objects: K8sObject[] = [];
    let w: Workload;
    let pod: PodSpec;
    beforeAll(() => {
      objects = render();
      w = workload(objects);
      pod = w.spec.template.spec;
    });
    const driver = () => container(pod, 'hostpath-csi');
    const ns = () => w.metadata.namespace ?? '';

    describeNorms(() => pod, exp.form);

    it('pins every container image to a tag other than latest, or a digest', () => {
      for (const c of pod.containers) expect(isPinned(c.image), `${c.name}: ${c.image}`).toBe(true);
    });

    it('runs the pinned sidecar images and the driver image of this version', () => {
      for (const c of pod.containers) {
        if (c.name === 'hostpath-csi') expect(c.image).toBe(`ghcr.io/hostpath-csi/hostpath-csi:${PACKAGE_VERSION}`);
        else expect(c.image, c.name).toBe(SIDECAR_IMAGES[c.name]);
      }
    });

    it('labels every object with name, part-of, component and this version', () => {
      for (const o of objects) {
        const l = o.metadata.labels ?? {};
        expect(l['app.kubernetes.io/name'], `${o.kind}/${o.metadata.name}`).toBe('hostpath-csi');
        expect(l['app.kubernetes.io/part-of'], `${o.kind}/${o.metadata.name}`).toBe('hostpath-csi');
        expect(l['app.kubernetes.io/component'], `${o.kind}/${o.metadata.name}`).toMatch(/^[a-z-]+$/);
        expect(l['app.kubernetes.io/version'], `${o.kind}/${o.metadata.name}`).toBe(PACKAGE_VERSION);
      }
    });

    it("binds each sidecar's upstream ClusterRole and Role to the pod's ServiceAccount", () => {
      const sa = pod.serviceAccountName ?? '';
      expect(ofKind(objects, 'ServiceAccount').map((o) => `${o.metadata.namespace}/${o.metadata.name}`)).toContain(`${ns()}/${sa}`);
      const sidecars = Object.keys(SIDECAR_ROLES).filter((s) => hasContainer(pod, s));
      expect(sidecars.length).toBeGreaterThan(0);
      for (const s of sidecars) {
        const { clusterRole, role } = SIDECAR_ROLES[s]!;
        expect(ofKind(objects, 'ClusterRole').map((o) => o.metadata.name), s).toContain(clusterRole);
        expect(ofKind(objects, 'Role').map((o) => `${o.metadata.namespace}/${o.metadata.name}`), s).toContain(`${ns()}/${role}`);
        const crbs = ofKind<Binding>(objects, 'ClusterRoleBinding').filter((b) => bindsTo(b, 'ClusterRole', clusterRole, sa, ns()));
        const rbs = ofKind<Binding>(objects, 'RoleBinding').filter(
          (b) => b.metadata.namespace === ns() && bindsTo(b, 'Role', role, sa, ns()),
        );
        expect(crbs.length, `${s} ClusterRoleBinding`).toBe(1);
        expect(rbs.length, `${s} RoleBinding`).toBe(1);
      }
    });

    it('has RBAC only for sidecars the pod runs, and every binding points at objects that exist', () => {
      for (const r of [...ofKind(objects, 'ClusterRole'), ...ofKind(objects, 'Role')]) {
        expect(hasContainer(pod, r.metadata.labels?.['app.kubernetes.io/component'] ?? ''), r.metadata.name).toBe(true);
      }
      const names = new Set(objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`));
      for (const b of [...ofKind<Binding>(objects, 'ClusterRoleBinding'), ...ofKind<Binding>(objects, 'RoleBinding')]) {
        const roleNs = b.roleRef.kind === 'Role' ? (b.metadata.namespace ?? '') : '';
        expect(names.has(`${b.roleRef.kind}/${roleNs}/${b.roleRef.name}`), b.metadata.name).toBe(true);
        for (const s of b.subjects) expect(names.has(`ServiceAccount/${s.namespace}/${s.name}`), b.metadata.name).toBe(true);
      }
    });

    it('serves the socket where every sidecar and kubelet look for it', () => {
      const socketDir = path.posix.join(exp.kubeletDir, 'plugins', exp.driverName);
      expect(flag(driver().args, 'endpoint')).toBe(`unix://${SOCKET_IN_POD}`);
      const driverSocketDir = hostPathAt(pod, driver(), SOCKET_DIR_IN_POD);
      expect(driverSocketDir.path).toBe(socketDir);
      for (const c of pod.containers.filter((x) => x.name !== 'hostpath-csi')) {
        expect(flag(c.args, 'csi-address'), c.name).toBe(SOCKET_IN_POD);
        expect(hostPathAt(pod, c, SOCKET_DIR_IN_POD).mount.name, c.name).toBe(driverSocketDir.mount.name);
      }
      const registrar = container(pod, 'node-driver-registrar');
      expect(flag(registrar.args, 'kubelet-registration-path')).toBe(`${socketDir}/csi.sock`);
      expect(pod.volumes?.find((v) => v.name === driverSocketDir.mount.name)?.hostPath?.type).toBe('DirectoryOrCreate');
    });

    it("registers with kubelet through its plugin registry, with the registrar's health endpoint", () => {
      const registrar = container(pod, 'node-driver-registrar');
      expect(hostPathAt(pod, registrar, '/registration').path).toBe(path.posix.join(exp.kubeletDir, 'plugins_registry'));
      expect(flag(registrar.args, 'http-endpoint')).toBe(':9809');
    });

    it("mounts kubelet's pods and plugins directories at their host paths with Bidirectional propagation", () => {
      for (const dir of ['pods', 'plugins']) {
        const p = path.posix.join(exp.kubeletDir, dir);
        const { path: host, mount } = hostPathAt(pod, driver(), p);
        expect(host).toBe(p);
        expect(mount.mountPropagation, p).toBe('Bidirectional');
      }
      const bidirectional = pod.containers.flatMap((c) => (c.volumeMounts ?? []).filter((m) => m.mountPropagation === 'Bidirectional'));
      expect(bidirectional.length, 'only the driver propagates mounts to the host').toBe(2);
    });

    it("confines the driver's target and staging paths to kubelet's directory", () => {
      expect(driver().env?.find((e) => e.name === 'HOSTPATH_CSI_ALLOWED_PATH_ROOT')?.value).toBe(exp.kubeletDir);
    });

    it('runs the driver privileged, with /dev and its state directory from the host', () => {
      expect(driver().securityContext?.privileged).toBe(true);
      expect(hostPathAt(pod, driver(), '/dev').path).toBe('/dev');
      expect(flag(driver().args, 'state-dir')).toBe(exp.dataDir);
      expect(hostPathAt(pod, driver(), exp.dataDir).path).toBe(exp.dataDir);
    });

    it('names the driver the same in the CSIDriver, driver flag, classes and socket path', () => {
      expect(one(objects, 'CSIDriver').metadata.name).toBe(exp.driverName);
      expect(flag(driver().args, 'driver-name')).toBe(exp.driverName);
      for (const sc of ofKind(objects, 'StorageClass')) expect(sc.provisioner).toBe(exp.driverName);
      for (const vsc of ofKind(objects, 'VolumeSnapshotClass')) expect(vsc.driver).toBe(exp.driverName);
      expect(ofKind(objects, 'VolumeSnapshotClass')).toHaveLength(1);
      expect(path.posix.basename(hostPathAt(pod, driver(), SOCKET_DIR_IN_POD).path)).toBe(exp.driverName);
    });

    it('offers one class per sizeLimit: none (no parameters), quota and image', () => {
      const classes = ofKind(objects, 'StorageClass') as StorageClassObj[];
      const byName = [...classes].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
      expect(byName.map((c) => [c.metadata.name, c.parameters ?? {}])).toEqual([
        ['hostpath-csi', {}],
        ['hostpath-csi-image', { sizeLimit: 'image', 'csi.storage.k8s.io/fstype': 'ext4' }],
        ['hostpath-csi-quota', { sizeLimit: 'quota' }],
      ]);
      for (const c of classes) {
        expect(c.reclaimPolicy, c.metadata.name).toBe('Delete');
        expect(c.volumeBindingMode, c.metadata.name).toBe(exp.form === 'single-node' ? 'Immediate' : 'WaitForFirstConsumer');
      }
    });

    it("takes the node ID from the pod's node name", () => {
      expect(flag(driver().args, 'node-id')).toBe('$(NODE_NAME)');
      expect(envFieldRef(driver(), 'NODE_NAME')).toBe('spec.nodeName');
    });

    it("wires the driver's liveness probe to the livenessprobe sidecar", () => {
      const port = flag(container(pod, 'liveness-probe').args, 'health-port');
      const probe = driver().livenessProbe?.httpGet;
      expect(probe?.path).toBe('/healthz');
      const named = driver().ports?.find((p) => p.name === probe?.port)?.containerPort ?? probe?.port;
      expect(String(named)).toBe(port);
      expect(port).toBe('9898');
    });

    it("gives the driver arguments its own parser accepts, with the rendered paths and name", () => {
      // Kubernetes expands $(NODE_NAME) from the pod's env before the driver sees it.
      const config = driverConfig(driver());
      expect(config.driverName).toBe(exp.driverName);
      expect(config.stateDir).toBe(exp.dataDir);
      expect(config.nodeId).toBe('node-1');
      expect(config.allowedPathRoot).toBe(exp.kubeletDir);
    });

    it('describes the driver in the CSIDriver object as the driver behaves', () => {
      const spec = one(objects, 'CSIDriver').spec as Record<string, unknown>;
      expect(spec.attachRequired).toBe(exp.attach);
      expect(driverConfig(driver()).enableAttach).toBe(exp.attach);
      expect(hasContainer(pod, 'csi-attacher')).toBe(exp.attach);
      expect(spec.podInfoOnMount).toBe(true);
      expect(spec.volumeLifecycleModes).toEqual(['Persistent', 'Ephemeral']);
      expect(spec.fsGroupPolicy).toBe('File');
      // Every form's provisioner publishes CSIStorageCapacity objects, which the scheduler then requires.
      expect(spec.storageCapacity).toBe(true);
      const prov = container(pod, 'csi-provisioner');
      expect(flag(prov.args, 'enable-capacity')).toBe('');
      expect(flag(prov.args, 'capacity-ownerref-level')).toBe('0');
      expect(envFieldRef(prov, 'POD_NAME')).toBe('metadata.name');
      expect(envFieldRef(prov, 'NAMESPACE')).toBe('metadata.namespace');
      expect(flag(driver().args, 'mode')).toBe('all');
    });

    if (exp.form === 'single-node') {
      it('runs one pod with the provisioner (topology, extra metadata), resizer and snapshotter', () => {
        expect(w.kind).toBe('StatefulSet');
        expect(w.spec.replicas).toBe(1);
        const prov = container(pod, 'csi-provisioner').args;
        expect(flag(prov, 'feature-gates')).toBe('Topology=true');
        expect(flag(prov, 'extra-create-metadata')).toBe('');
        // Its classes bind immediately: capacity is published for them as information (docs/kubernetes.md).
        expect(flag(prov, 'capacity-for-immediate-binding')).toBe('');
        // Refreshing every class's object after each provision must not queue behind the 1 request/s default.
        expect(flag(prov, 'kube-api-capacity-qps')).toBe('20');
        expect(flag(prov, 'kube-api-capacity-burst')).toBe('40');
        expect(hasContainer(pod, 'csi-resizer')).toBe(true);
        expect(hasContainer(pod, 'csi-snapshotter')).toBe(true);
        for (const sc of ofKind(objects, 'StorageClass')) expect(sc.allowVolumeExpansion, sc.metadata.name).toBe(true);
        expect(flag(driver().args, 'controller-expansion')).toBeUndefined();
      });

      it('runs the external-health-monitor controller, where it runs, on the v1.12 VolumeCondition the driver advertises by default', () => {
        // The monitor (v0.18.0) is built on CSI v1.12: it needs VOLUME_CONDITION, i.e. --csi-health-api=1.12.
        expect(flag(driver().args, 'csi-health-api') ?? '1.12').toBe('1.12');
        if (!hasContainer(pod, 'csi-external-health-monitor-controller')) return;
        expect(flag(container(pod, 'csi-external-health-monitor-controller').args, 'list-volumes-interval')).toBe('1m');
      });
    } else {
      it('runs no external-health-monitor controller (its ListVolumes would see one node only)', () => {
        expect(hasContainer(pod, 'csi-external-health-monitor-controller')).toBe(false);
      });

      it('runs a DaemonSet whose provisioner and snapshotter handle only their own node', () => {
        expect(w.kind).toBe('DaemonSet');
        const prov = container(pod, 'csi-provisioner');
        for (const [f, v] of Object.entries({
          'node-deployment': 'true',
          'strict-topology': 'true',
          'immediate-topology': 'false',
          'enable-capacity': '',
          'capacity-ownerref-level': '0',
          'kube-api-capacity-qps': '20',
          'kube-api-capacity-burst': '40',
          'feature-gates': 'Topology=true',
        })) {
          expect(flag(prov.args, f), f).toBe(v);
        }
        expect(envFieldRef(prov, 'NODE_NAME')).toBe('spec.nodeName');
        expect(envFieldRef(prov, 'POD_NAME')).toBe('metadata.name');
        expect(envFieldRef(prov, 'NAMESPACE')).toBe('metadata.namespace');
        const snap = container(pod, 'csi-snapshotter');
        expect(flag(snap.args, 'node-deployment')).toBe('true');
        expect(envFieldRef(snap, 'NODE_NAME')).toBe('spec.nodeName');
      });

      it('binds volumes when the first pod is scheduled', () => {
        for (const sc of ofKind(objects, 'StorageClass')) {
          expect(sc.volumeBindingMode, sc.metadata.name).toBe('WaitForFirstConsumer');
        }
      });

      it('expands on the node: one leader-elected resizer, no controller expansion, no modify', () => {
        // external-resizer has no per-node mode: with the controller's EXPAND_VOLUME off it runs its trivial resizer
        // (PV update only) and kubelet calls NodeExpandVolume on the volume's node.
        expect(flag(driver().args, 'controller-expansion')).toBe('false');
        const resizer = container(pod, 'csi-resizer');
        expect(flag(resizer.args, 'leader-election')).toBe('');
        expect(flag(resizer.args, 'leader-election-namespace')).toBe('$(NAMESPACE)');
        expect(envFieldRef(resizer, 'NAMESPACE')).toBe('metadata.namespace');
        expect(flag(resizer.args, 'feature-gates')).toBe('VolumeAttributesClass=false');
        for (const sc of ofKind(objects, 'StorageClass')) expect(sc.allowVolumeExpansion, sc.metadata.name).toBe(true);
      });
    }
  });
}
