import { status } from '@grpc/grpc-js';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, codeOf } from '../helpers/csi-client';
import { exists, isRoot, mountCapability, mountPointsUnder, NEEDS_ROOT, Scratch, type DriverProcess } from '../helpers/driver-process';

const scratch = new Scratch();

afterAll(async () => {
  const { leftMounts, leftDirs } = await scratch.dispose();
  expect(leftMounts).toEqual([]);
  expect(leftDirs).toEqual([]);
});

const SECRET = 'hunter2-integration';
const secrets = { password: SECRET };

describe('secrets at --log-level trace', () => {
  it('CreateVolume, ControllerPublish/Unpublish and DeleteVolume with secrets never write them to the log', async () => {
    const driver = await scratch.start({ root: await scratch.dir(), logLevel: 'trace' });
    const c = driver.clients.controller;
    const res = await call(c.CreateVolume.bind(c), { name: 'pv-secret', volume_capabilities: [mountCapability()], secrets });
    const volumeId = res.volume!.volume_id;
    const publish = { volume_id: volumeId, volume_capability: mountCapability(), readonly: false, secrets };
    await call(c.ControllerPublishVolume.bind(c), { ...publish, node_id: driver.nodeId });
    expect(await codeOf(call(c.ControllerPublishVolume.bind(c), { ...publish, node_id: 'some-other-node' }))).toBe(status.NOT_FOUND);
    await call(c.ControllerUnpublishVolume.bind(c), { volume_id: volumeId, node_id: driver.nodeId, secrets });
    await call(c.DeleteVolume.bind(c), { volume_id: volumeId, secrets });
    expect((await driver.stop()).code).toBe(0);

    expect(driver.stderr).not.toContain(SECRET);
    // The requests were logged, with the secret's value replaced: the check above looked at the right lines.
    const requests = driver.logLines().filter((l) => l['msg'] === 'request' && l['method'] === 'CreateVolume');
    expect(requests).toHaveLength(1);
    expect(requests[0]!['request']).toMatchObject({ name: 'pv-secret', secrets: { password: '[REDACTED]' } });
  });

  it.skipIf(!isRoot)(`NodeStageVolume and NodePublishVolume with secrets never write them to the log${NEEDS_ROOT}`, async () => {
    const root = await scratch.dir();
    const driver = await scratch.start({ root, logLevel: 'trace' });
    const c = driver.clients.controller;
    const n = driver.clients.node;
    const volumeId = (await call(c.CreateVolume.bind(c), { name: 'pv-node-secret', volume_capabilities: [mountCapability()] })).volume!.volume_id;
    const staging = path.join(root, 'staging');
    const target = path.join(root, 'target');
    await call(n.NodeStageVolume.bind(n), { volume_id: volumeId, staging_target_path: staging, volume_capability: mountCapability(), secrets });
    const publish = { volume_id: volumeId, staging_target_path: staging, target_path: target, volume_capability: mountCapability(), secrets };
    await call(n.NodePublishVolume.bind(n), publish);
    await call(n.NodeUnpublishVolume.bind(n), { volume_id: volumeId, target_path: target });
    await call(n.NodeUnstageVolume.bind(n), { volume_id: volumeId, staging_target_path: staging });
    await call(c.DeleteVolume.bind(c), { volume_id: volumeId });
    expect((await driver.stop()).code).toBe(0);

    expect(driver.stderr).not.toContain(SECRET);
    expect(driver.logLines().filter((l) => l['msg'] === 'request' && l['method'] === 'NodePublishVolume')).toHaveLength(1);
  });
});

describe.skipIf(!isRoot)(`host paths in node requests${NEEDS_ROOT}`, () => {
  let root: string;
  let driver: DriverProcess;
  let volumeId: string;
  let stagingPath: string;
  let entriesBefore: string[];

  beforeAll(async () => {
    root = await scratch.dir();
    // The driver's cwd is `root`, so a relative path it wrongly used would show up here.
    driver = await scratch.start({ root });
    const c = driver.clients.controller;
    volumeId = (await call(c.CreateVolume.bind(c), { name: 'pv-paths', volume_capabilities: [mountCapability()] })).volume!.volume_id;
    stagingPath = path.join(root, 'staging', 'pv-paths');
    const n = driver.clients.node;
    await call(n.NodeStageVolume.bind(n), { volume_id: volumeId, staging_target_path: stagingPath, volume_capability: mountCapability() });
    entriesBefore = (await readdir(root)).sort();
  });

  afterAll(async () => {
    const n = driver.clients.node;
    await call(n.NodeUnstageVolume.bind(n), { volume_id: volumeId, staging_target_path: stagingPath });
    const c = driver.clients.controller;
    await call(c.DeleteVolume.bind(c), { volume_id: volumeId });
    expect((await driver.stop()).code).toBe(0);
  });

  const publishAt = (targetPath: string): Promise<unknown> => {
    const n = driver.clients.node;
    return call(n.NodePublishVolume.bind(n), {
      volume_id: volumeId,
      staging_target_path: stagingPath,
      target_path: targetPath,
      volume_capability: mountCapability(),
      readonly: false,
    });
  };

  async function expectNothingCreated(): Promise<void> {
    expect((await readdir(root)).sort()).toEqual(entriesBefore);
    expect(await mountPointsUnder(root)).toEqual([stagingPath]);
  }

  it("NodePublishVolume with '..' in target_path is INVALID_ARGUMENT and creates nothing", async () => {
    expect(await codeOf(publishAt(`${root}/pods/../escape/mount`))).toBe(status.INVALID_ARGUMENT);
    expect(await exists(path.join(root, 'escape'))).toBe(false);
    await expectNothingCreated();
  });

  it('NodePublishVolume with a relative target_path is INVALID_ARGUMENT and creates nothing', async () => {
    expect(await codeOf(publishAt('relative-target/mount'))).toBe(status.INVALID_ARGUMENT);
    expect(await exists(path.join(root, 'relative-target'))).toBe(false);
    await expectNothingCreated();
  });

  it('NodePublishVolume with a NUL byte in target_path is INVALID_ARGUMENT and creates nothing', async () => {
    expect(await codeOf(publishAt(`${root}/nul\0byte/mount`))).toBe(status.INVALID_ARGUMENT);
    expect(await exists(path.join(root, 'nul'))).toBe(false);
    await expectNothingCreated();
  });

  it("NodeStageVolume with '..' in staging_target_path is INVALID_ARGUMENT and creates nothing", async () => {
    const n = driver.clients.node;
    const req = { volume_id: volumeId, staging_target_path: `${root}/staging/../elsewhere`, volume_capability: mountCapability() };
    expect(await codeOf(call(n.NodeStageVolume.bind(n), req))).toBe(status.INVALID_ARGUMENT);
    expect(await exists(path.join(root, 'elsewhere'))).toBe(false);
    await expectNothingCreated();
  });
});

describe('volume IDs that are paths', () => {
  let root: string;
  let driver: DriverProcess;
  let sentinel: string;

  beforeAll(async () => {
    root = await scratch.dir();
    driver = await scratch.start({ root });
    // `<state>/volumes/../x` is `<state>/x`: a driver that used the ID as a path would delete this.
    await mkdir(path.join(driver.stateDir, 'x'));
    sentinel = path.join(driver.stateDir, 'x', 'keep.txt');
    await writeFile(sentinel, 'keep');
  });

  afterAll(async () => {
    expect((await driver.stop()).code).toBe(0);
  });

  it.each(['../x', '..', 'a/b', '/etc', '.hidden'])('DeleteVolume with volume_id %j is INVALID_ARGUMENT', async (id) => {
    const c = driver.clients.controller;
    expect(await codeOf(call(c.DeleteVolume.bind(c), { volume_id: id }))).toBe(status.INVALID_ARGUMENT);
    expect(await readFile(sentinel, 'utf8')).toBe('keep');
  });

  const target = (): string => path.join(root, 'target');
  const staging = (): string => path.join(root, 'staging');
  const rpcs: Record<string, (id: string) => Promise<unknown>> = {
    ControllerPublishVolume: (id) => {
      const c = driver.clients.controller;
      return call(c.ControllerPublishVolume.bind(c), { volume_id: id, node_id: driver.nodeId, volume_capability: mountCapability() });
    },
    ControllerGetVolume: (id) => call(driver.clients.controller.ControllerGetVolume.bind(driver.clients.controller), { volume_id: id }),
    NodeStageVolume: (id) => call(driver.clients.node.NodeStageVolume.bind(driver.clients.node), { volume_id: id, staging_target_path: staging(), volume_capability: mountCapability() }),
    NodePublishVolume: (id) => {
      const n = driver.clients.node;
      return call(n.NodePublishVolume.bind(n), { volume_id: id, staging_target_path: staging(), target_path: target(), volume_capability: mountCapability() });
    },
    NodeUnpublishVolume: (id) => call(driver.clients.node.NodeUnpublishVolume.bind(driver.clients.node), { volume_id: id, target_path: target() }),
    NodeUnstageVolume: (id) => call(driver.clients.node.NodeUnstageVolume.bind(driver.clients.node), { volume_id: id, staging_target_path: staging() }),
    NodeGetVolumeStats: (id) => call(driver.clients.node.NodeGetVolumeStats.bind(driver.clients.node), { volume_id: id, volume_path: target() }),
  };

  it.each(Object.keys(rpcs))("%s with volume_id '../x' is INVALID_ARGUMENT and creates nothing", async (rpc) => {
    expect(await codeOf(rpcs[rpc]!('../x'))).toBe(status.INVALID_ARGUMENT);
    expect(await exists(target())).toBe(false);
    expect(await exists(staging())).toBe(false);
    expect(await readFile(sentinel, 'utf8')).toBe('keep');
  });
});

describe('the socket and the state directory', () => {
  it('the socket belongs to the driver\'s user and group, mode 0660, in a directory it made 0750; state is 0700', async () => {
    const root = await scratch.dir();
    const socketPath = path.join(root, 'run', 'hostpath-csi', 'csi.sock');
    const driver = await scratch.start({ root, socketPath });
    const sock = await stat(socketPath);
    expect(sock.isSocket()).toBe(true);
    expect({ uid: sock.uid, gid: sock.gid }).toEqual({ uid: process.getuid!(), gid: process.getgid!() });
    expect(sock.mode & 0o777).toBe(0o660);
    expect((await stat(path.dirname(socketPath))).mode & 0o777).toBe(0o750);
    expect((await stat(driver.stateDir)).mode & 0o777).toBe(0o700);
    expect((await driver.stop()).code).toBe(0);
  });
});

describe.skipIf(!isRoot)(`--allowed-path-root on a real driver${NEEDS_ROOT}`, () => {
  it('refuses a staging path outside it with INVALID_ARGUMENT and creates nothing there', async () => {
    const root = await scratch.dir();
    const kubelet = path.join(root, 'kubelet');
    await mkdir(kubelet);
    const driver = await scratch.start({ root, allowedPathRoot: kubelet });
    const c = driver.clients.controller;
    const volumeId = (await call(c.CreateVolume.bind(c), { name: 'pv-root', volume_capabilities: [mountCapability()] })).volume!.volume_id;
    const n = driver.clients.node;
    const outside = path.join(root, 'elsewhere', 'staging');
    const req = { volume_id: volumeId, staging_target_path: outside, volume_capability: mountCapability() };
    expect(await codeOf(call(n.NodeStageVolume.bind(n), req))).toBe(status.INVALID_ARGUMENT);
    expect(await exists(path.join(root, 'elsewhere'))).toBe(false);
    expect(await mountPointsUnder(root)).toEqual([]);
    expect((await driver.stop()).code).toBe(0);
  });
});
