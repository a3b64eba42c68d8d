/**
 * <E2E_ROOT>/cluster.env: what the suite knows about the cluster it runs against, written by whoever brought the
 * cluster up (local-cluster/up.sh, or test/e2e/kind.sh). Pure, so test/deploy can check that both writers give
 * what the suite reads.
 */

/** Every cluster sets these. */
export const REQUIRED_KEYS = [
  'E2E_ROOT', // the run's own directory (deployment record, kubectl and helm caches)
  'E2E_BIN', // where kubectl is
  'E2E_LOGS', // host-process logs read on failure (may be empty)
  'E2E_KUBECONFIG',
  'E2E_KUBELET_DIR', // kubelet's root on the node
  'E2E_STATE_DIR', // the driver's state directory on the node (a hostPath)
  'E2E_NODE_NAME',
  'E2E_TEST_IMAGE', // the image of the cases' pods (sh, dd, sha256sum, blockdev, df), already in the cluster
] as const;

/** Only some clusters set these; the suite's default in brackets. */
export const OPTIONAL_KEYS = [
  'E2E_PIDS', // [E2E_ROOT/pids] pid files of host processes
  'E2E_PKI', // the cluster's CA and kubelet client certificate: host-process deployment, kubelet's API
  'E2E_APISERVER', // the API server's address for host-process sidecars' kubeconfigs
  'E2E_KUBELET', // kubelet's own API [none: through the API server's node proxy]
  'E2E_BRIDGE', // 1: the node plugin's pods need pods/bridge (no pod network) [0]
  'E2E_IMAGE_LOADER', // ctr or kind (images.ts) [ctr]
  'E2E_CTR', // ctr binary (E2E_IMAGE_LOADER=ctr)
  'E2E_CONTAINERD_SOCK', // its socket (E2E_IMAGE_LOADER=ctr)
  'E2E_KIND_CLUSTER', // the kind cluster's name (E2E_IMAGE_LOADER=kind)
  'E2E_NODE_EXEC', // command prefix that runs a command on the node, e.g. `docker exec <node>` [none: this host]
  'E2E_SNAPSHOT_CONTROLLER', // host: the suite runs it as a host process; installed: already in the cluster [host]
] as const;

export type ClusterEnvKey = (typeof REQUIRED_KEYS)[number] | (typeof OPTIONAL_KEYS)[number];

/** KEY=VALUE lines (no quoting: values are paths and names); blank lines ignored. */
export function parseClusterEnv(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

/** Problems with a cluster.env: required keys missing or empty, keys the suite does not read. */
export function clusterEnvProblems(env: Record<string, string>): string[] {
  const known = new Set<string>([...REQUIRED_KEYS, ...OPTIONAL_KEYS]);
  return [
    ...REQUIRED_KEYS.filter((k) => !env[k]).map((k) => `${k} is missing or empty`),
    ...Object.keys(env).filter((k) => !known.has(k)).map((k) => `${k} is not read by the suite`),
  ];
}
