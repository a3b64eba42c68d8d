import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { cluster } from './cluster';

const run = promisify(execFile);

/**
 * The "load image" step, the one thing about images that differs between the clusters the suite runs on
 * (cluster.env E2E_IMAGE_LOADER):
 *   - ctr: the local cluster's containerd (`ctr -n k8s.io images ...` on its socket), where up.sh imported every
 *     archive; kubelet finds images there with imagePullPolicy IfNotPresent. Pinned, so image GC keeps them.
 *   - kind: `docker tag` and `kind load docker-image` into the kind cluster's node (test/e2e/kind.sh).
 */

/**
 * Imports an OCI image archive the operator built (one this project cannot build: see case 16) into the local
 * cluster's containerd, pinned like up.sh's imports. ctr only: kind users load images with `kind load`.
 */
export async function importArchive(archive: string, ref: string): Promise<void> {
  if (cluster.imageLoader === 'kind') throw new Error('importArchive: with kind, `kind load image-archive` it yourself');
  await ctrImages(['import', archive]);
  await ctrImages(['label', ref, 'io.cri-containerd.pinned=pinned']);
}

/** `ctr images ...` on the local cluster's containerd, in kubelet's namespace. */
function ctrImages(args: string[]): Promise<unknown> {
  return run(cluster.ctr, ['--address', cluster.containerdSock, '-n', 'k8s.io', 'images', ...args], { timeout: 300_000 });
}

/** Makes the image `from` (already in the cluster) available under the name `to` as well: same content. */
export async function tagImage(from: string, to: string): Promise<void> {
  if (cluster.imageLoader === 'kind') {
    await run('docker', ['tag', from, to]);
    await run('kind', ['load', 'docker-image', to, '--name', cluster.kindCluster], { timeout: 300_000 });
    return;
  }
  await ctrImages(['tag', '--force', from, to]);
  await ctrImages(['label', to, 'io.cri-containerd.pinned=pinned']);
}
