import { lstat, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { call, connectCsi } from '../helpers/csi-client';
import { exists, runDriverToExit, Scratch } from '../helpers/driver-process';

const scratch = new Scratch();

afterAll(async () => {
  const { leftMounts, leftDirs } = await scratch.dispose();
  expect(leftMounts).toEqual([]);
  expect(leftDirs).toEqual([]);
});

/** Probe through a brand-new connection, so a cached channel cannot hide a socket file that is gone. */
async function probeFresh(socketPath: string): Promise<boolean> {
  const clients = connectCsi(socketPath);
  try {
    const res = await call(clients.identity.Probe.bind(clients.identity), {});
    return res.ready?.value === true;
  } finally {
    clients.close();
  }
}

describe('driver process behaviour', () => {
  it('Probe answers ready=true once the driver is serving', async () => {
    const driver = await scratch.start({ root: await scratch.dir() });
    expect(await probeFresh(driver.socketPath)).toBe(true);
    await driver.stop();
  });

  it('creates the socket with mode 0660 by default', async () => {
    const driver = await scratch.start({ root: await scratch.dir() });
    expect((await stat(driver.socketPath)).mode & 0o777).toBe(0o660);
    await driver.stop();
  });

  it('applies --socket-mode to the socket', async () => {
    const driver = await scratch.start({ root: await scratch.dir(), extraArgs: ['--socket-mode=0600'] });
    expect((await stat(driver.socketPath)).mode & 0o777).toBe(0o600);
    await driver.stop();
  });

  it('exits 0 on SIGTERM and removes its socket file', async () => {
    const driver = await scratch.start({ root: await scratch.dir() });
    expect(await driver.stop()).toEqual({ code: 0, signal: null });
    expect(await exists(driver.socketPath)).toBe(false);
  });

  it('replaces a stale socket file left by a SIGKILLed driver', async () => {
    const root = await scratch.dir();
    const first = await scratch.start({ root });
    await first.kill();
    expect((await lstat(first.socketPath)).isSocket()).toBe(true);
    const second = await scratch.start({ root });
    expect(await probeFresh(second.socketPath)).toBe(true);
    expect((await second.stop()).code).toBe(0);
  });

  it('refuses to start a second driver on a socket that is being served, with a message on stderr', async () => {
    const root = await scratch.dir();
    const first = await scratch.start({ root });
    const second = scratch.spawn({ root, stateDir: path.join(root, 'state-2') });
    const exit = await second.exited;
    expect(exit.code).not.toBe(0);
    expect(exit.code).not.toBeNull();
    expect(second.stderr).toContain(`another process is serving on ${first.socketPath}`);
    await first.stop();
  });

  it('a refused second driver leaves the first one reachable on its socket', async () => {
    const root = await scratch.dir();
    const first = await scratch.start({ root });
    const second = scratch.spawn({ root, stateDir: path.join(root, 'state-2') });
    await second.exited;
    const socket = await lstat(first.socketPath).catch(() => null);
    expect(socket?.isSocket(), "the first driver's socket file must survive the refused start").toBe(true);
    expect(await probeFresh(first.socketPath)).toBe(true);
    await first.stop();
  });

  it('refuses to start when a regular file sits at the socket path, and leaves that file alone', async () => {
    const root = await scratch.dir();
    const socketPath = path.join(root, 'csi.sock');
    await writeFile(socketPath, 'not a socket');
    const driver = scratch.spawn({ root, socketPath });
    const exit = await driver.exited;
    expect(exit.code).not.toBe(0);
    expect(exit.code).not.toBeNull();
    expect(driver.stderr).toContain('is not a socket');
    expect(await readFile(socketPath, 'utf8').catch(() => 'file removed')).toBe('not a socket');
  });

  it.each([
    ['--mode', 'bogus'],
    ['--socket-mode', '0666'],
    ['--no-such-flag', 'x'],
  ])('exits non-zero with exactly one stderr line naming the flag for %s %s', async (flag, value) => {
    const root = await scratch.dir();
    const res = await runDriverToExit([flag, value, `--endpoint=unix://${root}/csi.sock`, `--state-dir=${root}/state`], root);
    expect(res.code).not.toBe(0);
    expect(res.code).not.toBeNull();
    const lines = res.stderr.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(flag);
    expect(await exists(path.join(root, 'state'))).toBe(false);
    expect(await exists(path.join(root, 'csi.sock'))).toBe(false);
  });
});
