import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { container, haveTools, kustomize, NEEDS_TOOLS, OVERLAYS, ROOT, workload } from './manifests';

/**
 * test/e2e/kind.sh cannot run here (no Docker, no kind), so what can be checked without a cluster is checked here:
 * the paths its csi-sanity step hands the in-cluster driver must be ones that driver accepts.
 */
const script = readFileSync(path.join(ROOT, 'test/e2e/kind.sh'), 'utf8');

/** The value of a csi-sanity flag in kind.sh, with the script's $sanity_root expanded. */
function sanityPath(name: string): string {
  const root = /^\s*sanity_root=(\S+)$/m.exec(script)?.[1] ?? '';
  const raw = new RegExp(`--csi\\.${name} "?([^"\\s]+)"?`).exec(script)?.[1];
  if (raw === undefined) throw new Error(`kind.sh passes no --csi.${name}`);
  return raw.replace('$sanity_root', root);
}

describe.skipIf(!haveTools)(`test/e2e/kind.sh${NEEDS_TOOLS}`, () => {
  it('gives csi-sanity target and staging paths under the allowed path root of every form (not /tmp)', () => {
    for (const overlay of OVERLAYS) {
      const driver = container(workload(kustomize(`deploy/kubernetes/overlays/${overlay}`)).spec.template.spec, 'hostpath-csi');
      const root = driver.env?.find((e) => e.name === 'HOSTPATH_CSI_ALLOWED_PATH_ROOT')?.value;
      expect(root, overlay).toBe('/var/lib/kubelet');
      for (const name of ['mountdir', 'stagingdir']) {
        expect(sanityPath(name).startsWith(`${root}/plugins/`), `${overlay} --csi.${name} ${sanityPath(name)}`).toBe(true);
      }
    }
  });
});
