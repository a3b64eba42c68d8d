import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { cluster, kubectl, kubectlJson } from './cluster';

/** What a failed case prints: the describe output of its objects and the log lines written while it ran. */

/** Log files worth reading on failure: the driver, the sidecars, the snapshot-controller and kubelet. */
const LOGS = ['hostpath-csi', 'csi-provisioner', 'csi-attacher', 'csi-resizer', 'csi-snapshotter', 'node-driver-registrar', 'snapshot-controller', 'kubelet'];
const MAX_LINES_PER_LOG = 40;

export type LogMarks = Map<string, number>;

/** The current size of every log, so a failure prints only what was written during the case. */
export async function logMarks(): Promise<LogMarks> {
  const marks: LogMarks = new Map();
  for (const f of await readdir(cluster.logs).catch(() => [] as string[])) {
    if (f.endsWith('.log')) marks.set(f, (await stat(path.join(cluster.logs, f))).size);
  }
  return marks;
}

async function readFrom(file: string, offset: number): Promise<string> {
  const fh = await open(file, 'r').catch(() => undefined);
  if (!fh) return '';
  try {
    const size = (await fh.stat()).size;
    const start = Math.max(offset, size - 4 * 1024 * 1024); // enough for a case; never the whole day's log
    const buf = Buffer.alloc(size - start);
    await fh.read(buf, 0, buf.length, start);
    return buf.toString('utf8');
  } finally {
    await fh.close();
  }
}

/**
 * Lines that matter: those naming the case's namespace or one of its PVs, and errors/warnings (klog E/W lines,
 * pino level >= 40). Kubelet logs a lot, so only its matching lines are kept.
 */
function relevant(line: string, needles: string[]): boolean {
  if (needles.some((n) => line.includes(n))) return true;
  return /^[EW]\d{4} /.test(line) || /"level":(40|50|60)/.test(line);
}

async function logExcerpts(marks: LogMarks, needles: string[]): Promise<string> {
  const parts: string[] = [];
  for (const name of LOGS) {
    const file = `${name}.log`;
    const text = await readFrom(path.join(cluster.logs, file), marks.get(file) ?? 0);
    const lines = text.split('\n').filter((l) => l && relevant(l, needles)).slice(-MAX_LINES_PER_LOG);
    if (lines.length) parts.push(`--- ${path.join(cluster.logs, file)} (last ${lines.length} relevant lines of this case)\n${lines.join('\n')}`);
  }
  return parts.join('\n');
}

async function describe(args: string[]): Promise<string> {
  return kubectl(['describe', ...args]).catch((e: Error) => `(describe ${args.join(' ')}: ${e.message})`);
}

async function podLogs(): Promise<string> {
  const args = ['logs', '-n', 'hostpath-csi', '-l', 'app.kubernetes.io/name=hostpath-csi', '--all-containers', '--prefix', `--tail=${MAX_LINES_PER_LOG}`];
  return kubectl(args).catch((e: Error) => `(kubectl logs: ${e.message})`);
}

export async function diagnostics(namespace: string, marks: LogMarks): Promise<string> {
  const pvs = await kubectlJson<{ items: { metadata: { name: string }; spec: { claimRef?: { namespace: string } } }[] }>(['get', 'pv']).catch(() => ({ items: [] }));
  const pvNames = pvs.items.filter((pv) => pv.spec.claimRef?.namespace === namespace).map((pv) => pv.metadata.name);
  const sections = [
    `=== kubectl describe pods,pvc -n ${namespace}\n${await describe(['pods,pvc', '-n', namespace])}`,
    `=== kubectl describe volumesnapshots -n ${namespace}\n${await describe(['volumesnapshots', '-n', namespace])}`,
    ...(pvNames.length ? [`=== kubectl describe pv ${pvNames.join(' ')}\n${await describe(['pv', ...pvNames])}`] : []),
    `=== kubectl describe volumeattachments\n${await describe(['volumeattachments'])}`,
    `=== log lines (${cluster.logs})\n${await logExcerpts(marks, [namespace, ...pvNames])}`,
    `=== the node plugin's pods (if deployed as pods), last lines\n${await podLogs()}`,
  ];
  return sections.join('\n');
}
