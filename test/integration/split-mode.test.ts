import { status } from '@grpc/grpc-js';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, codeOf } from '../helpers/csi-client';
import { exists, isMountPoint, isRoot, mountCapability, NEEDS_ROOT, Scratch, type DriverProcess } from '../helpers/driver-process';

const scratch = new Scratch();

afterAll(async () => {
  const { leftMounts, leftDirs } = await scratch.dispose();
  expect(leftMounts).toEqual([]);
  expect(leftDirs).toEqual([]);
});

describe('controller and node in separate processes sharing one state dir', () => {
  let controller: DriverProcess;
  let node: DriverProcess;
  let root: string;

  beforeAll(async () => {
    root = await scratch.dir();
    const stateDir = path.join(root, 'state');
    [controller, node] = await Promise.all([
      scratch.start({ root, mode: 'controller', stateDir, socketPath: path.join(root, 'controller.sock') }),
      scratch.start({ root, mode: 'node', stateDir, socketPath: path.join(root, 'node.sock') }),
    ]);
  });

  afterAll(async () => {
    expect((await node.stop()).code).toBe(0);
    expect((await controller.stop()).code).toBe(0);
  });

  it('the node socket has no Controller service: CreateVolume is UNIMPLEMENTED', async () => {
    const c = node.clients.controller;
    expect(await codeOf(call(c.CreateVolume.bind(c), { name: 'nope', volume_capabilities: [mountCapability()] }))).toBe(status.UNIMPLEMENTED);
  });

  it('the controller socket has no Node service: NodeGetInfo is UNIMPLEMENTED', async () => {
    const n = controller.clients.node;
    expect(await codeOf(call(n.NodeGetInfo.bind(n), {}))).toBe(status.UNIMPLEMENTED);
  });

  it('both sockets serve Identity', async () => {
    expect(await controller.probeReady()).toBe(true);
    expect(await node.probeReady()).toBe(true);
  });

  it.skipIf(!isRoot)(`a volume created on the controller socket is staged, published and used on the node socket${NEEDS_ROOT}`, async () => {
    const c = controller.clients.controller;
    const n = node.clients.node;
    const created = await call(c.CreateVolume.bind(c), { name: 'pv-split', capacity_range: { required_bytes: '1048576' }, volume_capabilities: [mountCapability()] });
    const volumeId = created.volume!.volume_id;
    const info = await call(n.NodeGetInfo.bind(n), {});
    await call(c.ControllerPublishVolume.bind(c), { volume_id: volumeId, node_id: info.node_id, volume_capability: mountCapability(), readonly: false });

    const stagingPath = path.join(root, 'staging', 'pv-split');
    const targetPath = path.join(root, 'pods', 'p', 'mount');
    await call(n.NodeStageVolume.bind(n), { volume_id: volumeId, staging_target_path: stagingPath, volume_capability: mountCapability() });
    await call(n.NodePublishVolume.bind(n), {
      volume_id: volumeId,
      staging_target_path: stagingPath,
      target_path: targetPath,
      volume_capability: mountCapability(),
      readonly: false,
    });
    await writeFile(path.join(targetPath, 'split.txt'), 'through the node process');
    expect(await readFile(path.join(root, 'state', 'volumes', volumeId, 'split.txt'), 'utf8')).toBe('through the node process');

    await call(n.NodeUnpublishVolume.bind(n), { volume_id: volumeId, target_path: targetPath });
    await call(n.NodeUnstageVolume.bind(n), { volume_id: volumeId, staging_target_path: stagingPath });
    expect(await isMountPoint(targetPath)).toBe(false);
    expect(await isMountPoint(stagingPath)).toBe(false);
    await call(c.ControllerUnpublishVolume.bind(c), { volume_id: volumeId, node_id: info.node_id });
    await call(c.DeleteVolume.bind(c), { volume_id: volumeId });
    expect(await exists(path.join(root, 'state', 'volumes', volumeId))).toBe(false);
  });
});
