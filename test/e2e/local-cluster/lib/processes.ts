import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cluster, REPO, sleep } from './cluster';

/**
 * Host processes the suite starts (the driver, the sidecars, the snapshot-controller), each under supervise.sh,
 * which restarts it when it exits, as kubelet restarts a pod's containers. The supervisor's pid file has the format
 * common.sh uses ("<pid> <start time>"), so down.sh stops it even if the suite dies, and never mistakes a reused
 * pid for ours; <name>.child holds the pid of the supervised process itself. Output goes to <E2E_LOGS>/<name>.log.
 */

export interface ProcessSpec {
  name: string;
  argv: string[];
  env?: Record<string, string>;
}

const SUPERVISE = path.join(REPO, 'test', 'e2e', 'local-cluster', 'supervise.sh');
const pidFile = (name: string) => path.join(cluster.pids, `${name}.pid`);
const childFile = (name: string) => path.join(cluster.pids, `${name}.child`);
export const logFile = (name: string) => path.join(cluster.logs, `${name}.log`);

async function startTimeOf(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3 overall, start time field 22. A
    // zombie has exited already.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

/** The pid of NAME if it is still the process we started. */
export async function livePid(name: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(pidFile(name), 'utf8');
  } catch {
    return undefined;
  }
  const [pid, start] = text.trim().split(' ');
  const n = Number(pid);
  return n > 0 && (await startTimeOf(n)) === start ? n : undefined;
}

export async function startProcess(spec: ProcessSpec): Promise<number> {
  await mkdir(cluster.pids, { recursive: true });
  await mkdir(cluster.logs, { recursive: true });
  const out = openSync(logFile(spec.name), 'a');
  try {
    await rm(childFile(spec.name), { force: true });
    const child = spawn('bash', [SUPERVISE, ...spec.argv], {
      detached: true, // its own session and process group: a Ctrl-C of the suite does not kill it half-way
      stdio: ['ignore', out, out],
      env: { ...process.env, ...spec.env, SUPERVISE_CHILD_FILE: childFile(spec.name) },
    });
    const pid = child.pid;
    if (pid === undefined) throw new Error(`could not start ${spec.name} (${spec.argv[0]})`);
    child.unref();
    await writeFile(pidFile(spec.name), `${pid} ${await startTimeOf(pid)}\n`);
    return pid;
  } finally {
    closeSync(out);
  }
}

/** The pid of the supervised process itself (not its supervisor), once it runs. */
export async function childPid(name: string): Promise<number | undefined> {
  const text = await readFile(childFile(name), 'utf8').catch(() => '');
  const pid = Number(text.trim());
  return pid > 0 && (await startTimeOf(pid)) !== undefined ? pid : undefined;
}

/** Stops the supervisor and its process: SIGTERM, then SIGKILL to the process group after graceMs. */
export async function stopProcess(name: string, graceMs = 10_000): Promise<void> {
  const pid = await livePid(name);
  if (pid !== undefined) {
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while ((await livePid(name)) !== undefined && Date.now() < deadline) await sleep(100);
    if ((await livePid(name)) !== undefined) process.kill(-pid, 'SIGKILL');
    while ((await livePid(name)) !== undefined) await sleep(50);
  }
  await rm(pidFile(name), { force: true });
  await rm(childFile(name), { force: true });
}
