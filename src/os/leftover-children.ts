import { readdir, readFile } from 'node:fs/promises';
import type { Logger } from '../log';

/**
 * The environment variable every child process of the driver carries (src/os/exec.ts): the state directory, the
 * roles the driver held and its PID. The parent-death signal (setpriv --pdeathsig) kills children when the driver
 * dies, but not one the driver forked in the instant before it died (setpriv had not yet set the signal, and does
 * not check its parent afterwards), nor any child where setpriv is missing. This mark finds those at the next
 * start-up. It survives exec and is inherited by grandchildren (mkfs's helpers); it is readable in
 * /proc/<pid>/environ by root, which the driver is.
 */
export const CHILD_MARK = 'HOSTPATH_CSI_CHILD_OF';

export type Role = 'controller' | 'node';

export interface ChildMark {
  stateDir: string;
  roles: readonly Role[];
  pid: number;
}

/** The value of CHILD_MARK for children of this process. JSON: a state directory path may hold any character. */
export function childMarkValue(mark: ChildMark): string {
  return JSON.stringify({ stateDir: mark.stateDir, roles: [...mark.roles].sort(), pid: mark.pid });
}

function parseMark(environ: string): ChildMark | null {
  const prefix = `${CHILD_MARK}=`;
  const entry = environ.split('\0').find((e) => e.startsWith(prefix));
  if (entry === undefined) return null;
  try {
    const v = JSON.parse(entry.slice(prefix.length)) as Partial<ChildMark>;
    if (typeof v.stateDir !== 'string' || typeof v.pid !== 'number' || !Array.isArray(v.roles)) return null;
    return { stateDir: v.stateDir, pid: v.pid, roles: v.roles.filter((r): r is Role => r === 'controller' || r === 'node') };
  } catch {
    // Not our mark after all (someone else's variable of the same name): not a process of ours to kill.
    return null;
  }
}

/** Live processes whose mark names `stateDir`, a role we hold, and a driver other than this process. */
async function findLeftovers(stateDir: string, roles: readonly Role[]): Promise<number[]> {
  const pids = (await readdir('/proc')).filter((n) => /^\d+$/.test(n)).map(Number).filter((pid) => pid !== process.pid);
  // Read at once, not one after another: this runs on the way to the first ready Probe.
  const marks = await Promise.all(
    // A process may exit between readdir and here, and a kernel thread has an empty environ: both are skipped.
    pids.map(async (pid) => parseMark(await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => ''))),
  );
  return pids.filter((_, i) => {
    const mark = marks[i];
    if (!mark || mark.stateDir !== stateDir || mark.pid === process.pid) return false;
    // We hold the lock of a role its driver held, so that driver is dead: the process is a leftover.
    return mark.roles.some((r) => roles.includes(r));
  });
}

/** Whether `pid` is a live process: gone or a zombie (dead, waiting for its new parent to reap it) is not. */
async function alive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // Field 3, after the parenthesised command name (which may itself hold spaces and parentheses), is the state.
  return stat !== '' && stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

async function stillAlive(pids: readonly number[]): Promise<number[]> {
  const live = await Promise.all(pids.map(alive));
  return pids.filter((_, i) => live[i]);
}

/**
 * SIGKILLs the children a dead driver of one of `roles` on `stateDir` left running, and waits (up to `waitMs`) until
 * they are gone, so that reconciliation never works on an image or snapshot they are still writing (two e2fsck on
 * one filesystem corrupt it). Call it only while holding the role locks: they prove the owner is dead. A process that
 * cannot be killed (stuck in the kernel) is logged, never a reason to fail start-up. Returns how many were killed.
 */
export async function killLeftoverChildren(stateDir: string, roles: readonly Role[], log: Logger, waitMs = 5_000): Promise<number> {
  const pids = await findLeftovers(stateDir, roles);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // ESRCH: it exited meanwhile, which is what we wanted.
    }
  }
  const deadline = Date.now() + waitMs;
  let left = await stillAlive(pids);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    left = await stillAlive(left);
  }
  if (pids.length > 0) log.warn({ killed: pids, stillAlive: left }, 'killed child processes a previous driver left running');
  return pids.length;
}
