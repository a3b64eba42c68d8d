import { status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, parseCommand } from '../../../src/config';
import { createVolumeId, expectCode, invoke, NODE_ID, startDriver, testConfig, topologyOf, type TestDriver } from '../../helpers/fakes';

let d: TestDriver | undefined;

afterEach(async () => {
  await d?.cleanup();
  d = undefined;
});

const controllerTypes = async () => (await invoke(d!.controller.ControllerGetCapabilities, {})).capabilities?.map((c) => c.rpc?.type);
const nodeTypes = async () => (await invoke(d!.node.NodeGetCapabilities, {})).capabilities?.map((c) => c.rpc?.type);

describe('health capabilities by --csi-health-api', () => {
  it('defaults to 1.12, takes the env variable, and refuses any other value', () => {
    expect(testConfig().csiHealthApi).toBe('1.12');
    const fromEnv = parseCommand(['--node-id', 'n'], { HOSTPATH_CSI_HEALTH_API: '1.13' });
    expect(fromEnv.kind === 'run' && fromEnv.config.csiHealthApi).toBe('1.13');
    expect(() => testConfig({ 'csi-health-api': '1.14' })).toThrow(ConfigError);
  });

  it('advertises only the v1.12 VOLUME_CONDITION by default (a v1.12 client rejects the v1.13 values)', async () => {
    d = await startDriver();
    expect(await controllerTypes()).toContain('VOLUME_CONDITION');
    expect(await controllerTypes()).not.toEqual(expect.arrayContaining(['GET_VOLUME_HEALTH']));
    expect(await controllerTypes()).not.toEqual(expect.arrayContaining(['LIST_VOLUME_HEALTH']));
    expect(await nodeTypes()).toContain('VOLUME_CONDITION');
    expect(await nodeTypes()).not.toEqual(expect.arrayContaining(['GET_VOLUME_HEALTH']));
  });

  it('advertises the v1.13 health RPCs and not VOLUME_CONDITION with 1.13', async () => {
    d = await startDriver({ 'csi-health-api': '1.13' });
    expect(await controllerTypes()).toEqual(expect.arrayContaining(['GET_VOLUME_HEALTH', 'LIST_VOLUME_HEALTH']));
    expect(await controllerTypes()).not.toContain('VOLUME_CONDITION');
    expect(await nodeTypes()).toEqual(expect.arrayContaining(['GET_VOLUME_HEALTH', 'GET_STORAGE_HEALTH']));
    expect(await nodeTypes()).not.toContain('VOLUME_CONDITION');
  });
});

describe('snapshot topology (CSI v1.13 SNAPSHOT_ACCESSIBILITY_CONSTRAINTS)', () => {
  it('gives a snapshot the topology of the node that holds it', async () => {
    d = await startDriver({ 'csi-health-api': '1.13' });
    const id = await createVolumeId(d!, 'pv');
    const res = await invoke(d!.controller.CreateSnapshot, { name: 's', source_volume_id: id, secrets: {}, parameters: {}, accessibility_requirements: null });
    expect(res.snapshot?.accessible_topology).toEqual([topologyOf(NODE_ID)]);
  });

  it('leaves snapshot topology out with 1.12, where the capability that allows it is not advertised', async () => {
    d = await startDriver();
    const id = await createVolumeId(d!, 'pv');
    const res = await invoke(d!.controller.CreateSnapshot, { name: 's', source_volume_id: id, secrets: {}, parameters: {}, accessibility_requirements: null });
    expect(res.snapshot?.accessible_topology).toEqual([]);
  });

  it('refuses with RESOURCE_EXHAUSTED a snapshot whose requisite topology leaves this node out', async () => {
    d = await startDriver({ 'csi-health-api': '1.13' });
    const id = await createVolumeId(d, 'pv');
    const elsewhere = { requisite: [topologyOf('node-b')], preferred: [] };
    await expectCode(invoke(d.controller.CreateSnapshot, { name: 's', source_volume_id: id, secrets: {}, parameters: {}, accessibility_requirements: elsewhere }), status.RESOURCE_EXHAUSTED);
    const here = { requisite: [topologyOf(NODE_ID)], preferred: [topologyOf(NODE_ID)] };
    const res = await invoke(d.controller.CreateSnapshot, { name: 's', source_volume_id: id, secrets: {}, parameters: {}, accessibility_requirements: here });
    expect(res.snapshot?.ready_to_use).toBe(true);
  });
});
