import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { isPinned } from './checks';
import { haveTools, kustomize, NEEDS_TOOLS, parseYaml, ROOT, type K8sObject, type PodSpec } from './manifests';

const DIR = path.join(ROOT, 'examples');
const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort();
const kindScript = readFileSync(path.join(ROOT, 'test', 'e2e', 'kind.sh'), 'utf8');
const GROUP_EXAMPLE = 'group-snapshot.yaml';
const groupCase = readFileSync(path.join(ROOT, 'test', 'e2e', 'local-cluster', 'cases', '15-group-snapshots.test.ts'), 'utf8');
const INLINE_IMAGE_EXAMPLE = 'ephemeral-pod-image.yaml';
const inlineImageCase = readFileSync(path.join(ROOT, 'test', 'e2e', 'local-cluster', 'cases', '17-inline-image.test.ts'), 'utf8');

interface Claim extends K8sObject {
  spec: { storageClassName?: string; volumeMode?: string; accessModes: string[]; dataSource?: { kind: string; name: string } };
}
interface PodObj extends K8sObject {
  spec: PodSpec;
}

describe('examples', () => {
  it('each file starts with a comment saying what it shows', () => {
    for (const f of files) expect(readFileSync(path.join(DIR, f), 'utf8'), f).toMatch(/^# \S.{20,}\n/);
  });

  it('every example is exercised by test/e2e/kind.sh, the group snapshot one by the local-cluster case 15, the inline image one by case 17', () => {
    // kind.sh deploys the single-node form, without group snapshots; case 15 deploys single-node-group-snapshots.
    for (const f of files.filter((f) => f !== GROUP_EXAMPLE && f !== INLINE_IMAGE_EXAMPLE)) expect(kindScript, f).toContain(`$ex/${f}`);
    expect(groupCase).toContain(`examples/${GROUP_EXAMPLE}`);
    // Case 17 reads loop devices and mounts on the host, which a kind node (a container) does not share.
    expect(inlineImageCase).toContain(`'examples', '${INLINE_IMAGE_EXAMPLE}'`);
  });

  it('covers a PVC, block, clone, snapshot and restore, group snapshot, expansion, inline ephemeral and ReadWriteOncePod', () => {
    expect(files).toEqual([
      'block-pvc-pod.yaml',
      'clone.yaml',
      'ephemeral-pod-image.yaml',
      'ephemeral-pod.yaml',
      'expansion.yaml',
      'group-snapshot.yaml',
      'pvc-pod.yaml',
      'restore.yaml',
      'rwop.yaml',
      'snapshot.yaml',
    ]);
  });
});

describe.skipIf(!haveTools)(`examples against the deployment${NEEDS_TOOLS}`, () => {
  const all = new Map<string, K8sObject[]>();
  let deployed: K8sObject[] = [];
  beforeAll(() => {
    for (const f of files) all.set(f, parseYaml(readFileSync(path.join(DIR, f), 'utf8')));
    deployed = kustomize('deploy/kubernetes/overlays/single-node');
  });
  const objects = () => [...all.values()].flat();
  const named = (kind: string, name: string) => objects().find((o) => o.kind === kind && o.metadata.name === name);

  it('claims use a StorageClass the deployment creates', () => {
    const classes = deployed.filter((o) => o.kind === 'StorageClass').map((o) => o.metadata.name);
    const claims = objects().filter((o): o is Claim => o.kind === 'PersistentVolumeClaim');
    expect(claims.length).toBeGreaterThan(0);
    for (const c of claims) expect(classes, c.metadata.name).toContain(c.spec.storageClassName);
  });

  it('snapshots use the VolumeSnapshotClass the deployment creates', () => {
    const vsc = deployed.find((o) => o.kind === 'VolumeSnapshotClass')!.metadata.name;
    const snaps = objects().filter((o) => o.kind === 'VolumeSnapshot');
    expect(snaps).toHaveLength(1);
    for (const s of snaps) expect((s.spec as { volumeSnapshotClassName: string }).volumeSnapshotClassName).toBe(vsc);
  });

  it('the group snapshot uses the class the group-snapshots overlay creates and selects both of its claims', () => {
    const groupClass = kustomize('deploy/kubernetes/overlays/single-node-group-snapshots').find((o) => o.kind === 'VolumeGroupSnapshotClass')!.metadata.name;
    const example = all.get(GROUP_EXAMPLE)!;
    const vgs = example.filter((o) => o.kind === 'VolumeGroupSnapshot') as unknown as { spec: { volumeGroupSnapshotClassName: string; source: { selector: { matchLabels: Record<string, string> } } } }[];
    expect(vgs.map((g) => g.spec.volumeGroupSnapshotClassName)).toEqual([groupClass]);
    const wanted = Object.entries(vgs[0]!.spec.source.selector.matchLabels);
    const selected = objects().filter((o) => o.kind === 'PersistentVolumeClaim' && wanted.every(([k, v]) => o.metadata.labels?.[k] === v));
    expect(selected.map((o) => o.metadata.name)).toEqual(['orders-db', 'orders-log']);
  });

  it('clone and restore name sources that the other examples create', () => {
    for (const c of objects().filter((o): o is Claim => o.kind === 'PersistentVolumeClaim' && !!(o as Claim).spec.dataSource)) {
      const src = c.spec.dataSource!;
      expect(named(src.kind, src.name), `${c.metadata.name} -> ${src.kind}/${src.name}`).toBeDefined();
    }
  });

  it('pods mount claims the examples define, with pinned images', () => {
    for (const p of objects().filter((o): o is PodObj => o.kind === 'Pod')) {
      for (const c of p.spec.containers) expect(isPinned(c.image), `${p.metadata.name}: ${c.image}`).toBe(true);
      for (const v of p.spec.volumes ?? []) {
        const claim = v.persistentVolumeClaim?.claimName;
        if (claim) expect(named('PersistentVolumeClaim', claim), `${p.metadata.name} -> ${claim}`).toBeDefined();
      }
    }
  });

  it('the inline ephemeral volumes name the driver and a size, the image one sizeLimit image and its filesystem', () => {
    const driver = deployed.find((o) => o.kind === 'CSIDriver')!.metadata.name;
    const inline = objects()
      .filter((o): o is PodObj => o.kind === 'Pod')
      .flatMap((p) => (p.spec.volumes ?? []).filter((v) => v.csi));
    expect(inline.map((v) => v.csi!.driver)).toEqual([driver, driver]);
    expect(inline.map((v) => v.csi!.volumeAttributes)).toEqual([{ sizeLimit: 'image', size: '64Mi', fsType: 'ext4' }, { size: '256Mi' }]);
  });

  it('the block and expansion examples ask for raw block volumes, the RWOP one for ReadWriteOncePod', () => {
    for (const f of ['block-pvc-pod.yaml', 'expansion.yaml']) {
      const claim = all.get(f)!.find((o): o is Claim => o.kind === 'PersistentVolumeClaim')!;
      expect(claim.spec.volumeMode, f).toBe('Block');
    }
    const rwop = all.get('rwop.yaml')!;
    expect(rwop.find((o): o is Claim => o.kind === 'PersistentVolumeClaim')!.spec.accessModes).toEqual(['ReadWriteOncePod']);
    expect(rwop.filter((o) => o.kind === 'Pod')).toHaveLength(2);
  });
});
