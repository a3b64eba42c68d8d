/**
 * Which of the External Storage specs run here, and why the others do not. Each entry is a regular expression for
 * ginkgo's --skip, matched against the full spec text; every exclusion says why it cannot run on this cluster.
 * docs/external-storage.md repeats the list for readers.
 */
export interface Exclusion {
  pattern: string;
  why: string;
}

/** Only this driver's specs: the suite also holds in-tree and other drivers' specs. */
export const FOCUS = String.raw`External.Storage \[Driver: hostpath\.csi\.dev\]`;

export const EXCLUSIONS: readonly Exclusion[] = [
  { pattern: String.raw`\[Disruptive\]`, why: 'restarts kubelet or the node: the cluster is shared by the whole run and kubelet is a host process here' },
  { pattern: String.raw`\[Serial\]`, why: 'must run alone on the cluster; the parallel run would disturb it (and it would disturb the others)' },
  { pattern: String.raw`\[Feature:Windows\]`, why: 'Windows nodes only' },
  { pattern: String.raw`\[Feature:SELinux\]`, why: 'needs SELinux on the node; this host has none (seLinuxMount is not claimed)' },
];

/**
 * The CI subset (when the full set exceeds the CI budget): the specs of these test suites, by the name the suite
 * gives them in the spec text. E2E_EXTERNAL_STORAGE=full runs everything not excluded above.
 */
export const CI_SUITES: readonly string[] = [];

export function skipPattern(): string {
  return EXCLUSIONS.map((e) => e.pattern).join('|');
}
