import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import path from 'node:path';
import { type ClusterEnvKey, clusterEnvProblems, parseClusterEnv } from './cluster-env';

/**
 * The cluster the suite runs against, as <E2E_ROOT>/cluster.env describes it (cluster-env.ts): the local cluster
 * (up.sh writes it) or a kind cluster (test/e2e/kind.sh writes it).
 */

export const REPO = path.resolve(__dirname, '..', '..', '..', '..');
const E2E_ROOT = process.env.E2E_ROOT ?? '/var/lib/hostpath-csi-e2e';

function readClusterEnv(): Record<string, string> {
  const file = path.join(E2E_ROOT, 'cluster.env');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new Error(`${file} not found: bring the cluster up first (test/e2e/local-cluster/up.sh, or run.sh)`);
  }
  const parsed = parseClusterEnv(text);
  const problems = clusterEnvProblems(parsed);
  if (problems.length) throw new Error(`${file}: ${problems.join('; ')}`);
  return parsed;
}

const env = readClusterEnv();
const value = (name: ClusterEnvKey): string => env[name] ?? '';

export const cluster = Object.freeze({
  root: value('E2E_ROOT'),
  bin: value('E2E_BIN'),
  logs: value('E2E_LOGS'),
  pids: value('E2E_PIDS') || path.join(value('E2E_ROOT'), 'pids'),
  pki: value('E2E_PKI'),
  kubeconfig: value('E2E_KUBECONFIG'),
  kubeletDir: value('E2E_KUBELET_DIR'),
  stateDir: value('E2E_STATE_DIR'),
  nodeName: value('E2E_NODE_NAME'),
  apiserver: value('E2E_APISERVER'),
  /** kubelet's own API; empty: reached through the API server's node proxy (kubeletGet). */
  kubelet: value('E2E_KUBELET'),
  testImage: value('E2E_TEST_IMAGE'),
  /** The node plugin's pods need pods/bridge (no pod network, no kube-proxy): the local cluster, not kind. */
  bridge: value('E2E_BRIDGE') === '1',
  /** How images get into the cluster (images.ts): ctr (this local cluster's containerd) or kind. */
  imageLoader: value('E2E_IMAGE_LOADER') === 'kind' ? 'kind' : 'ctr',
  ctr: value('E2E_CTR'),
  containerdSock: value('E2E_CONTAINERD_SOCK'),
  kindCluster: value('E2E_KIND_CLUSTER'),
  /** argv prefix that runs a command on the node (kind: docker exec <node>); empty: the node is this host. */
  nodeExec: value('E2E_NODE_EXEC').split(' ').filter(Boolean),
  /** The suite runs the snapshot-controller as a host process, unless the cluster already has one (kind.sh). */
  hostSnapshotController: value('E2E_SNAPSHOT_CONTROLLER') !== 'installed',
});

/** On every case's namespace, so the end of the suite can wait for all of them to be gone. */
export const CASE_LABEL = 'e2e.hostpath.csi.dev/case';

export class KubectlError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly output: string,
  ) {
    super(`kubectl ${args.join(' ')} failed: ${output.trim()}`);
  }
}

/**
 * kubectl's discovery cache and helm's files under the run's root (teardown removes it), also when the suite is run
 * without run.sh (which exports KUBECACHEDIR): never ~/.kube, ~/.cache/helm or ~/.config/helm.
 */
export const toolEnv: NodeJS.ProcessEnv = {
  ...process.env,
  KUBECACHEDIR: path.join(cluster.root, 'kube-cache'),
  HELM_CACHE_HOME: path.join(cluster.root, 'helm', 'cache'),
  HELM_CONFIG_HOME: path.join(cluster.root, 'helm', 'config'),
  HELM_DATA_HOME: path.join(cluster.root, 'helm', 'data'),
};

/** Runs kubectl as the cluster admin; resolves with stdout, rejects with KubectlError carrying stderr. */
export function kubectl(args: readonly string[], input?: string, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      path.join(cluster.bin, 'kubectl'),
      ['--kubeconfig', cluster.kubeconfig, ...args],
      { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: toolEnv },
      (err, stdout, stderr) => (err ? reject(new KubectlError(args, `${stderr}${stdout}`)) : resolve(stdout)),
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}

export async function kubectlJson<T>(args: readonly string[]): Promise<T> {
  return JSON.parse(await kubectl([...args, '-o', 'json'])) as T;
}

/** Applies objects given as JSON (kubectl accepts a JSON List). */
export async function apply(objects: readonly object[]): Promise<void> {
  await kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
}

/** Creates objects given as JSON (for the ones whose spec is immutable, so `apply` would hide a mistake). */
export async function create(objects: readonly object[]): Promise<void> {
  await kubectl(['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
}

/**
 * GET from kubelet's own API, as the API server does (its kubelet client certificate). Not through the API
 * server's node proxy on the local cluster: that refuses a node whose address is loopback (elsewhere, kind: the
 * proxy). kubelet's serving certificate is self-signed
 * by kubelet itself, so it is not verified (loopback only).
 */
export async function kubeletGet(urlPath: string): Promise<string> {
  if (!cluster.kubelet) return kubectl(['get', '--raw', `/api/v1/nodes/${cluster.nodeName}/proxy${urlPath}`]);
  const [cert, key] = await Promise.all(['crt', 'key'].map((ext) => readFile(path.join(cluster.pki, `apiserver-kubelet-client.${ext}`))));
  return new Promise((resolve, reject) => {
    const req = request(`${cluster.kubelet}${urlPath}`, { cert, key, rejectUnauthorized: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`kubelet ${urlPath}: ${res.statusCode} ${body}`))));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`kubelet ${urlPath}: timed out`)));
    req.end();
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `check` until it returns a value other than undefined/false, or throws after timeoutMs with the last
 * error or the description. Each call of `check` may itself call kubectl.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 90_000,
  intervalMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${why}`);
    }
    await sleep(intervalMs);
  }
}
