/**
 * Issue 13, defect 2, the case the parent-death signal cannot cover: a child the driver forked in the instant before
 * it was SIGKILLed (setpriv had not yet set the signal), or any child where setpriv is missing, lives on. Such a
 * process carries the driver's mark (src/os/leftover-children.ts); the next driver of the same role on the same state
 * directory must kill it before it reconciles anything, and leave every other process alone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CHILD_MARK, childMarkValue, type ChildMark } from '../../src/os/leftover-children';
import { Scratch } from '../helpers/driver-process';

const scratch = new Scratch();
const ours: ChildProcess[] = [];

afterAll(async () => {
  for (const child of ours) child.kill('SIGKILL');
  const { leftMounts, leftDirs } = await scratch.dispose();
  expect(leftMounts).toEqual([]);
  expect(leftDirs).toEqual([]);
});

/** A PID no live process has: a process that already exited (PIDs are not reused this quickly). */
async function deadPid(): Promise<number> {
  const p = spawn('true');
  await new Promise((r) => p.once('exit', r));
  return p.pid!;
}

/** A `sleep` standing in for a leftover cp or e2fsck, marked as the child of `mark`'s driver. */
function leftover(mark: ChildMark | null): ChildProcess {
  const env = { ...process.env, ...(mark ? { [CHILD_MARK]: childMarkValue(mark) } : {}) };
  const p = spawn('sleep', ['300'], { env, stdio: 'ignore' });
  ours.push(p);
  return p;
}

async function isLive(p: ChildProcess): Promise<boolean> {
  if (p.exitCode !== null || p.signalCode !== null) return false;
  const stat = await readFile(`/proc/${p.pid}/stat`, 'utf8').catch(() => '');
  return stat !== '' && !/^\d+ \(.*\) Z /.test(stat);
}

describe('children a dead driver left running', () => {
  it('are SIGKILLed by the next driver of the same role before it is ready; other processes are left alone', async () => {
    const root = await scratch.dir();
    const stateDir = path.join(root, 'state');
    const dead = await deadPid();
    const ofDeadController = leftover({ stateDir, roles: ['controller', 'node'], pid: dead });
    const ofDeadNode = leftover({ stateDir, roles: ['node'], pid: dead });
    const otherStateDir = leftover({ stateDir: path.join(root, 'other-state'), roles: ['controller', 'node'], pid: dead });
    const unmarked = leftover(null);
    const killed = new Promise<NodeJS.Signals | null>((r) => ofDeadController.once('exit', (_c, sig) => r(sig)));

    const driver = await scratch.start({ root, stateDir, mode: 'controller', socketPath: path.join(root, 'c.sock') });
    // Killed and gone by the time Probe says ready: reconciliation never ran beside it.
    expect(await isLive(ofDeadController)).toBe(false);
    expect(await killed).toBe('SIGKILL');
    // A node-only leftover belongs to a node process this controller does not replace (one may still be running).
    expect(await isLive(ofDeadNode)).toBe(true);
    expect(await isLive(otherStateDir)).toBe(true);
    expect(await isLive(unmarked)).toBe(true);
    const warn = driver.logLines().find((l) => l.msg === 'killed child processes a previous driver left running');
    expect(warn).toMatchObject({ killed: [ofDeadController.pid], stillAlive: [] });
    expect((await driver.stop()).code).toBe(0);
  });

  it('are not looked for by a second process the role lock refuses: the live driver\'s children stay', async () => {
    const root = await scratch.dir();
    const stateDir = path.join(root, 'state');
    const driver = await scratch.start({ root, stateDir, mode: 'all' });
    // A leftover of this very process is not one: the mark names the live driver.
    const ofLiveDriver = leftover({ stateDir, roles: ['controller', 'node'], pid: driver.proc.pid! });
    const second = await scratch.start({ root, stateDir, mode: 'node', socketPath: path.join(root, 'n.sock') }).catch((e: Error) => e);
    // The second process is refused (the node lock is held) before it could look for leftovers.
    expect(second).toBeInstanceOf(Error);
    expect(await isLive(ofLiveDriver)).toBe(true);
    expect((await driver.stop()).code).toBe(0);
  });
});
