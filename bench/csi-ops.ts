import type { CreateVolumeResponse__Output } from '../src/generated/csi/v1/CreateVolumeResponse';
import type { CreateSnapshotResponse__Output } from '../src/generated/csi/v1/CreateSnapshotResponse';
import type { VolumeCapability } from '../src/generated/csi/v1/VolumeCapability';
import type { VolumeContentSource } from '../src/generated/csi/v1/VolumeContentSource';
import { call } from '../support/csi-client';
import { BENCH_NODE_ID, type RunningDriver } from './drivers';
import type { Recorder } from './recorder';

/**
 * The CSI calls the scenarios make, each with the check of its answer. Requests are what external-provisioner,
 * -attacher and kubelet send for a filesystem volume.
 */
export const MOUNT_CAP: VolumeCapability = { access_mode: { mode: 'SINGLE_NODE_WRITER' }, mount: { fs_type: '', mount_flags: [] } };

export async function createVolume(d: RunningDriver, rec: Recorder, name: string, bytes: number, source?: VolumeContentSource): Promise<string | null> {
  const c = d.clients.controller;
  const req = { name, capacity_range: { required_bytes: String(bytes) }, volume_capabilities: [MOUNT_CAP], parameters: {}, ...(source ? { volume_content_source: source } : {}) };
  const res = await rec.rpc('CreateVolume', () => call(c.CreateVolume.bind(c), req), (r: CreateVolumeResponse__Output) => {
    if (!r.volume || r.volume.volume_id === '') return 'CreateVolume answered no volume_id';
    if (BigInt(r.volume.capacity_bytes) < BigInt(bytes)) return `capacity ${r.volume.capacity_bytes} is less than the ${bytes} bytes asked for`;
    return null;
  });
  return res?.volume?.volume_id ?? null;
}

export async function deleteVolume(d: RunningDriver, rec: Recorder, volumeId: string): Promise<boolean> {
  const c = d.clients.controller;
  return (await rec.rpc('DeleteVolume', () => call(c.DeleteVolume.bind(c), { volume_id: volumeId }))) !== null;
}

export async function controllerPublish(d: RunningDriver, rec: Recorder, volumeId: string): Promise<boolean> {
  const c = d.clients.controller;
  const req = { volume_id: volumeId, node_id: BENCH_NODE_ID, volume_capability: MOUNT_CAP, readonly: false };
  return (await rec.rpc('ControllerPublishVolume', () => call(c.ControllerPublishVolume.bind(c), req))) !== null;
}

export async function controllerUnpublish(d: RunningDriver, rec: Recorder, volumeId: string): Promise<boolean> {
  const c = d.clients.controller;
  return (await rec.rpc('ControllerUnpublishVolume', () => call(c.ControllerUnpublishVolume.bind(c), { volume_id: volumeId, node_id: BENCH_NODE_ID }))) !== null;
}

export async function nodeStage(d: RunningDriver, rec: Recorder, volumeId: string, stagingPath: string): Promise<boolean> {
  const n = d.clients.node;
  const req = { volume_id: volumeId, staging_target_path: stagingPath, volume_capability: MOUNT_CAP };
  return (await rec.rpc('NodeStageVolume', () => call(n.NodeStageVolume.bind(n), req))) !== null;
}

export async function nodeUnstage(d: RunningDriver, rec: Recorder, volumeId: string, stagingPath: string): Promise<boolean> {
  const n = d.clients.node;
  return (await rec.rpc('NodeUnstageVolume', () => call(n.NodeUnstageVolume.bind(n), { volume_id: volumeId, staging_target_path: stagingPath }))) !== null;
}

export async function nodePublish(d: RunningDriver, rec: Recorder, volumeId: string, stagingPath: string, target: string): Promise<boolean> {
  const n = d.clients.node;
  const req = { volume_id: volumeId, staging_target_path: stagingPath, target_path: target, volume_capability: MOUNT_CAP, readonly: false };
  return (await rec.rpc('NodePublishVolume', () => call(n.NodePublishVolume.bind(n), req))) !== null;
}

export async function nodeUnpublish(d: RunningDriver, rec: Recorder, volumeId: string, target: string): Promise<boolean> {
  const n = d.clients.node;
  return (await rec.rpc('NodeUnpublishVolume', () => call(n.NodeUnpublishVolume.bind(n), { volume_id: volumeId, target_path: target }))) !== null;
}

export async function createSnapshot(d: RunningDriver, rec: Recorder, name: string, sourceVolumeId: string): Promise<string | null> {
  const c = d.clients.controller;
  const res = await rec.rpc('CreateSnapshot', () => call(c.CreateSnapshot.bind(c), { name, source_volume_id: sourceVolumeId, parameters: {} }), (r: CreateSnapshotResponse__Output) => {
    if (!r.snapshot || r.snapshot.snapshot_id === '') return 'CreateSnapshot answered no snapshot_id';
    if (r.snapshot.source_volume_id !== sourceVolumeId) return `snapshot source is ${r.snapshot.source_volume_id}, not ${sourceVolumeId}`;
    return null;
  });
  return res?.snapshot?.snapshot_id ?? null;
}

/** CSI spec, CreateSnapshot: a snapshot is usable once ready_to_use; poll ListSnapshots by ID until it is. */
export async function waitSnapshotReady(d: RunningDriver, rec: Recorder, snapshotId: string, timeoutMs = 600_000): Promise<boolean> {
  const c = d.clients.controller;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await rec.rpc('ListSnapshots', () => call(c.ListSnapshots.bind(c), { snapshot_id: snapshotId }), (r) =>
      r.entries.length === 1 && r.entries[0]!.snapshot?.snapshot_id === snapshotId ? null : `ListSnapshots by id answered ${r.entries.length} entries`,
    );
    if (res === null) return false;
    if (res.entries[0]!.snapshot!.ready_to_use) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  rec.fail('ListSnapshots', `snapshot ${snapshotId} not ready after ${timeoutMs} ms`);
  return false;
}

export async function deleteSnapshot(d: RunningDriver, rec: Recorder, snapshotId: string): Promise<boolean> {
  const c = d.clients.controller;
  return (await rec.rpc('DeleteSnapshot', () => call(c.DeleteSnapshot.bind(c), { snapshot_id: snapshotId }))) !== null;
}

export async function probe(d: RunningDriver, rec: Recorder): Promise<boolean> {
  const id = d.clients.identity;
  const res = await rec.rpc('Probe', () => call(id.Probe.bind(id), {}), (r) => (r.ready && r.ready.value === false ? 'Probe answered not ready' : null));
  return res !== null;
}
