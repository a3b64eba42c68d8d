import { describe, expect, it } from 'vitest';
import { CHART, container, haveTools, helm, helmTemplate, hostPathAt, kustomize, NEEDS_TOOLS, workload, type K8sObject, type PodSpec } from './manifests';

/**
 * Volume roots as deployed (docs/kubernetes.md "Volume roots"): the driver's --volume-roots and a hostPath mount of
 * each root at the same path, from the kustomize component and from the chart's volumeRoots value.
 */
const skip = !haveTools;

const spec = (objects: K8sObject[]): PodSpec => workload(objects).spec.template.spec;
const rootsEnv = (objects: K8sObject[]): string | undefined =>
  container(spec(objects), 'hostpath-csi').env?.find((e) => e.name === 'HOSTPATH_CSI_VOLUME_ROOTS')?.value;

/** What a root gives the driver container: the hostPath behind its mount, the hostPath type and the propagation (none). */
function rootMount(objects: K8sObject[], at: string): { path: string; type?: string; propagation?: string } {
  const s = spec(objects);
  const { path, mount } = hostPathAt(s, container(s, 'hostpath-csi'), at);
  return { path, type: s.volumes!.find((v) => v.name === mount.name)!.hostPath!.type, propagation: mount.mountPropagation };
}

describe.skipIf(skip)(`volume roots in the chart${NEEDS_TOOLS}`, () => {
  it('none by default: no flag, no extra hostPath', () => {
    const objects = helmTemplate();
    expect(rootsEnv(objects)).toBeUndefined();
    expect(spec(objects).volumes!.filter((v) => v.name.startsWith('volume-root-'))).toEqual([]);
  });

  it('each root becomes one key=path in the flag and a Directory hostPath at the same path, in both forms', () => {
    for (const form of ['single-node', 'distributed']) {
      const objects = helmTemplate({ form, 'volumeRoots[0].key': 'disk2', 'volumeRoots[0].path': '/mnt/disk2', 'volumeRoots[1].key': 'exports', 'volumeRoots[1].path': '/srv/exports' });
      expect(rootsEnv(objects)).toBe('disk2=/mnt/disk2,exports=/srv/exports');
      expect(rootMount(objects, '/mnt/disk2')).toEqual({ path: '/mnt/disk2', type: 'Directory', propagation: undefined });
      expect(rootMount(objects, '/srv/exports')).toEqual({ path: '/srv/exports', type: 'Directory', propagation: undefined });
    }
  });

  it('refuses a key given twice, a key that is not a DNS label and a relative path', () => {
    const base = ['template', 'hostpath-csi', CHART];
    const roots = (...r: [string, string][]) => r.flatMap(([k, p], i) => ['--set', `volumeRoots[${i}].key=${k}`, '--set', `volumeRoots[${i}].path=${p}`]);
    expect(helm([...base, ...roots(['a', '/mnt/a'], ['a', '/mnt/b'])]).output).toContain('volumeRoots: key a is given twice');
    expect(helm([...base, ...roots(['Disk_2', '/mnt/a'])]).status).not.toBe(0);
    expect(helm([...base, ...roots(['a', 'mnt/a'])]).status).not.toBe(0);
    expect(helm([...base, ...roots(['a', '/mnt/../etc'])]).status).not.toBe(0);
  });
});

describe.skipIf(skip)(`volume-roots kustomize component${NEEDS_TOOLS}`, () => {
  it('gives both forms what the chart gives for [{key: exports, path: /srv/exports}]', () => {
    const h = helmTemplate({ 'volumeRoots[0].key': 'exports', 'volumeRoots[0].path': '/srv/exports' });
    for (const fixture of ['volume-roots', 'volume-roots-distributed']) {
      const k = kustomize(`test/deploy/fixtures/${fixture}`);
      expect(rootsEnv(k)).toBe(rootsEnv(h));
      expect(rootMount(k, '/srv/exports')).toEqual(rootMount(h, '/srv/exports'));
    }
  });
});
