import { status } from '@grpc/grpc-js';
import { readdir } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import {
  controllerPublishRequest,
  controllerUnpublishRequest,
  createVolumeId,
  expectCode,
  invoke,
  mountCap,
  NODE_ID,
  startDriver,
  type TestDriver,
} from '../../helpers/fakes';

let d: TestDriver;

afterEach(async () => {
  await d.cleanup();
});

const publish = (id: string, o: Parameters<typeof controllerPublishRequest>[1] = {}) =>
  invoke(d.controller.ControllerPublishVolume, controllerPublishRequest(id, o));
const unpublish = (id: string, nodeId = NODE_ID) => invoke(d.controller.ControllerUnpublishVolume, controllerUnpublishRequest(id, nodeId));

describe('ControllerPublishVolume', () => {
  it('records one attachment of the volume to this node', async () => {
    d = await startDriver();
    const id = await createVolumeId(d, 'pvc-1');
    await expect(publish(id)).resolves.toEqual({ publish_context: {} });
    expect(d.controllerDeps.catalog.attachmentsOf(id)).toMatchObject([{ volumeId: id, nodeId: NODE_ID, readonly: false, mode: 'SINGLE_NODE_WRITER' }]);
    expect(await readdir(d.layout.attachmentRecordsDir)).toHaveLength(1);
  });

  it('succeeds again for an identical repeat, keeping one attachment', async () => {
    d = await startDriver();
    const id = await createVolumeId(d, 'pvc-1');
    await publish(id);
    await expect(publish(id)).resolves.toEqual({ publish_context: {} });
    expect(await readdir(d.layout.attachmentRecordsDir)).toHaveLength(1);
  });

  it('answers NOT_FOUND for a node it does not know', async () => {
    d = await startDriver();
    const id = await createVolumeId(d, 'pvc-1');
    await expectCode(publish(id, { node_id: 'node-b' }), status.NOT_FOUND);
  });

  it('answers NOT_FOUND for a volume it does not know', async () => {
    d = await startDriver();
    await expectCode(publish('vol-9999'), status.NOT_FOUND);
  });

  it('answers ALREADY_EXISTS for a repeat with another readonly', async () => {
    d = await startDriver();
    const id = await createVolumeId(d, 'pvc-1');
    await publish(id);
    await expectCode(publish(id, { readonly: true }), status.ALREADY_EXISTS);
  });

  it('answers ALREADY_EXISTS for a repeat with another access mode', async () => {
    d = await startDriver();
    const id = await createVolumeId(d, 'pvc-1');
    await publish(id);
    await expectCode(publish(id, { volume_capability: mountCap('SINGLE_NODE_READER_ONLY') }), status.ALREADY_EXISTS);
  });

  it('answers RESOURCE_EXHAUSTED past --max-volumes-per-node', async () => {
    d = await startDriver({ 'max-volumes-per-node': '1' });
    const a = await createVolumeId(d, 'pvc-a');
    const b = await createVolumeId(d, 'pvc-b');
    await publish(a);
    await expectCode(publish(b), status.RESOURCE_EXHAUSTED);
    expect(d.controllerDeps.catalog.attachCount(NODE_ID)).toBe(1);
  });

  it('still answers an identical repeat when the node is at its limit', async () => {
    d = await startDriver({ 'max-volumes-per-node': '1' });
    const a = await createVolumeId(d, 'pvc-a');
    await publish(a);
    await expect(publish(a)).resolves.toEqual({ publish_context: {} });
  });

  it('frees an attach slot on unpublish', async () => {
    d = await startDriver({ 'max-volumes-per-node': '1' });
    const a = await createVolumeId(d, 'pvc-a');
    const b = await createVolumeId(d, 'pvc-b');
    await publish(a);
    await unpublish(a);
    await expect(publish(b)).resolves.toEqual({ publish_context: {} });
  });

  it('answers INVALID_ARGUMENT for a missing capability', async () => {
    d = await startDriver();
    const id = await createVolumeId(d, 'pvc-1');
    await expectCode(publish(id, { volume_capability: null }), status.INVALID_ARGUMENT);
  });
});

describe('ControllerUnpublishVolume', () => {
  it('removes the attachment record', async () => {
    d = await startDriver();
    const id = await createVolumeId(d, 'pvc-1');
    await publish(id);
    await unpublish(id);
    expect(d.controllerDeps.catalog.attachmentsOf(id)).toEqual([]);
    expect(await readdir(d.layout.attachmentRecordsDir)).toEqual([]);
  });

  it('succeeds again when already unpublished', async () => {
    d = await startDriver();
    const id = await createVolumeId(d, 'pvc-1');
    await publish(id);
    await unpublish(id);
    await expect(unpublish(id)).resolves.toEqual({});
  });

  it('succeeds for a volume that does not exist', async () => {
    d = await startDriver();
    await expect(unpublish('vol-9999')).resolves.toEqual({});
  });

  it('unpublishes from every node when node_id is empty', async () => {
    d = await startDriver();
    const id = await createVolumeId(d, 'pvc-1');
    await publish(id);
    await unpublish(id, '');
    expect(d.controllerDeps.catalog.attachmentsOf(id)).toEqual([]);
  });
});

describe('attach off (--enable-attach=false)', () => {
  it('does not advertise PUBLISH_UNPUBLISH_VOLUME', async () => {
    d = await startDriver({ 'enable-attach': 'false' });
    const caps = await invoke(d.controller.ControllerGetCapabilities, {});
    const types = caps.capabilities?.map((c) => c.rpc?.type);
    expect(types).not.toContain('PUBLISH_UNPUBLISH_VOLUME');
    expect(types).toContain('CREATE_DELETE_VOLUME');
  });

  it('answers UNIMPLEMENTED for publish and unpublish', async () => {
    d = await startDriver({ 'enable-attach': 'false' });
    const id = await createVolumeId(d, 'pvc-1');
    await expectCode(publish(id), status.UNIMPLEMENTED);
    await expectCode(unpublish(id), status.UNIMPLEMENTED);
  });

  it('advertises PUBLISH_UNPUBLISH_VOLUME when attach is on', async () => {
    d = await startDriver();
    const caps = await invoke(d.controller.ControllerGetCapabilities, {});
    expect(caps.capabilities?.map((c) => c.rpc?.type)).toContain('PUBLISH_UNPUBLISH_VOLUME');
  });
});
