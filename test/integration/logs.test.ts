import { afterAll, describe, expect, it } from 'vitest';
import { call } from '../helpers/csi-client';
import { Scratch } from '../helpers/driver-process';
import { topLevelKeys } from '../helpers/log-keys';

const scratch = new Scratch();

afterAll(async () => {
  const { leftMounts, leftDirs } = await scratch.dispose();
  expect(leftMounts).toEqual([]);
  expect(leftDirs).toEqual([]);
});

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 25));
}

describe('driver log level at run time', () => {
  it('SIGUSR2 makes an info driver log requests at debug, and says so once', async () => {
    const driver = await scratch.start({ root: await scratch.dir(), logLevel: 'info' });
    const c = driver.clients.controller;
    const requests = (): number => driver.logLines().filter((l) => l['msg'] === 'request').length;
    await call(c.ControllerGetCapabilities.bind(c), {});
    expect(requests()).toBe(0);
    driver.proc.kill('SIGUSR2');
    await until(() => driver.logLines().some((l) => l['msg'] === 'log level changed (SIGUSR2)'));
    await call(c.ControllerGetCapabilities.bind(c), {});
    await until(() => requests() > 0);
    expect(driver.logLines().filter((l) => l['msg'] === 'log level changed (SIGUSR2)').map((l) => [l['from'], l['to']])).toEqual([['info', 'debug']]);
    expect(requests()).toBe(1);
    expect((await driver.stop()).code).toBe(0);
  });

  it('every line of a request has an ISO time and each key once', async () => {
    const driver = await scratch.start({ root: await scratch.dir(), logLevel: 'debug' });
    const c = driver.clients.controller;
    const created = await call(c.CreateVolume.bind(c), { name: 'log-vol', volume_capabilities: [{ access_mode: { mode: 'SINGLE_NODE_WRITER' }, mount: { fs_type: '', mount_flags: [] } }], secrets: { password: 'hunter2' } });
    // DeleteVolume's outcome line names the volume its call logger is bound to: the case that used to repeat a key.
    await call(c.DeleteVolume.bind(c), { volume_id: created.volume!.volume_id, secrets: { password: 'hunter2' } });
    expect((await driver.stop()).code).toBe(0);
    const lines = driver.stderr.split('\n').filter((l) => l.startsWith('{'));
    expect(lines.some((l) => l.includes('"volume deleted"'))).toBe(true);
    for (const line of lines) {
      const keys = topLevelKeys(line);
      expect(new Set(keys).size, line).toBe(keys.length);
      expect((JSON.parse(line) as { time: string }).time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
    expect(driver.stderr).not.toContain('hunter2');
  });
});
