/**
 * Issue 13, defect 8: one process per role on a state directory, and the directory is 0700 whatever mode it had.
 */
import { chmod, mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { call, type CsiClients } from '../helpers/csi-client';
import { runDriverToExit, Scratch } from '../helpers/driver-process';

const scratch = new Scratch();

afterAll(async () => {
  const { leftMounts, leftDirs } = await scratch.dispose();
  expect(leftMounts).toEqual([]);
  expect(leftDirs).toEqual([]);
});

function argv(root: string, stateDir: string, mode: string, socketName: string): string[] {
  return [`--endpoint=unix://${path.join(root, socketName)}`, `--state-dir=${stateDir}`, '--node-id=lock-node', `--mode=${mode}`, `--allowed-path-root=${root}`];
}

async function probeReady(driver: { clients: CsiClients }): Promise<boolean> {
  const id = driver.clients.identity;
  return (await call(id.Probe.bind(id), {})).ready?.value === true;
}

describe('one process per role on a state directory', () => {
  it('refuses a second driver of the same role with exit status 2 and one line, and the first goes on serving', async () => {
    const root = await scratch.dir();
    const stateDir = path.join(root, 'state');
    const first = await scratch.start({ root, stateDir });
    const second = await runDriverToExit(argv(root, stateDir, 'all', 'second.sock'), root);
    expect(second.code).toBe(2);
    const lines = second.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^hostpath-csi: another controller process \\(pid ${first.proc.pid}\\) is using the state directory ${stateDir}`));
    expect(await probeReady(first)).toBe(true);
    expect((await first.stop()).code).toBe(0);
  });

  it('refuses a second node process while a node process holds the directory, and lets a controller share it', async () => {
    const root = await scratch.dir();
    const stateDir = path.join(root, 'state');
    const node = await scratch.start({ root, stateDir, mode: 'node', socketPath: path.join(root, 'node.sock') });
    const secondNode = await runDriverToExit(argv(root, stateDir, 'node', 'node2.sock'), root);
    expect(secondNode.code).toBe(2);
    expect(secondNode.stderr).toMatch(/another node process .* only one node may run on it/);
    const controller = await scratch.start({ root, stateDir, mode: 'controller', socketPath: path.join(root, 'controller.sock') });
    expect(await probeReady(controller)).toBe(true);
    expect((await controller.stop()).code).toBe(0);
    expect((await node.stop()).code).toBe(0);
  });

  it('lets a new driver start at once after the holder was SIGKILLed', async () => {
    const root = await scratch.dir();
    const stateDir = path.join(root, 'state');
    const first = await scratch.start({ root, stateDir });
    await first.kill();
    const second = await scratch.start({ root, stateDir });
    expect(await probeReady(second)).toBe(true);
    expect((await second.stop()).code).toBe(0);
  });

  it('makes an existing state directory 0700 (kubelet creates hostPath directories 0755)', async () => {
    const root = await scratch.dir();
    const stateDir = path.join(root, 'state');
    await mkdir(stateDir);
    await chmod(stateDir, 0o755);
    const driver = await scratch.start({ root, stateDir });
    expect((await stat(stateDir)).mode & 0o777).toBe(0o700);
    expect((await driver.stop()).code).toBe(0);
  });
});
