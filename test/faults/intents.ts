import { capabilityOf, type VolumeKindSpec } from './kinds';
import { copyData, type SnapshotModel, type VolumeModel, type World } from './world';

export type Service = 'controller' | 'node';

/**
 * One thing the CO wants done, sent again and again (after timeouts, ABORTED and restarts) until the driver gives a
 * final answer, exactly as the sidecars and kubelet do. Every intent the planner makes is legal in CO order, so the
 * only final answer the CSI spec allows is OK.
 */
export interface Intent {
  rpc: string;
  service: Service;
  request: Record<string, unknown>;
  what: string;
  /** Objects kept busy until the final answer, so that no other intent touches them meanwhile. */
  holds: Array<{ busy: boolean }>;
  /** Takes the final OK answer into the model; returns a violation, or null. */
  onOk(res: Record<string, unknown>): string | null;
  /** Checks the answer to the same request delivered again after it had succeeded (a lost answer); null if fine. */
  onRepeat(res: Record<string, unknown>): string | null;
}

/** Sent with every request that has a secrets field; the logs of every driver run are searched for it. */
export const SECRET_VALUE = 'faults-secret-5f1d0c7e';
const secrets = { password: SECRET_VALUE, token: `${SECRET_VALUE}-token` };

const none = (): null => null;

function volumeOf(res: Record<string, unknown>): { volume_id: string; capacity_bytes: string } {
  return res['volume'] as { volume_id: string; capacity_bytes: string };
}

export interface CreateSource {
  type: 'snapshot' | 'volume';
  id: string;
  model: SnapshotModel | VolumeModel;
}

export function createVolume(world: World, kind: VolumeKindSpec, capacity: number, source: CreateSource | null, nodeId: string): Intent {
  const name = world.nextName(source ? `pv-${source.type === 'snapshot' ? 'restore' : 'clone'}` : 'pv');
  const content = source ? (source.type === 'snapshot' ? { snapshot: { snapshot_id: source.id } } : { volume: { volume_id: source.id } }) : null;
  let id: string | null = null;
  return {
    rpc: 'CreateVolume',
    service: 'controller',
    what: `CreateVolume ${name} (${kind.name}${source ? ` from ${source.type} ${source.id}` : ''})`,
    request: {
      name,
      capacity_range: { required_bytes: String(capacity) },
      volume_capabilities: [capabilityOf(kind)],
      parameters: { ...kind.parameters },
      volume_content_source: content,
      accessibility_requirements: { requisite: [{ segments: { 'topology.hostpath.csi.dev/node': nodeId } }] },
      secrets,
    },
    holds: source ? [source.model] : [],
    onOk(res) {
      const vol = volumeOf(res);
      if (vol.capacity_bytes !== String(capacity)) return `${this.what}: capacity_bytes ${vol.capacity_bytes}, asked for ${capacity}`;
      id = vol.volume_id;
      world.addVolume({
        name,
        id,
        kind,
        capacity,
        mutable: {},
        data: source ? copyData(source.model.data) : new Map(),
        attached: false,
        stagingPath: null,
        targets: new Map(),
        busy: false,
      });
      return null;
    },
    onRepeat(res) {
      const vol = volumeOf(res);
      return vol.volume_id === id ? null : `${this.what} repeated: answered volume ${vol.volume_id}, first answer was ${id}`;
    },
  };
}

export function deleteVolume(world: World, vol: VolumeModel): Intent {
  return {
    rpc: 'DeleteVolume',
    service: 'controller',
    what: `DeleteVolume ${vol.id} (${vol.name})`,
    request: { volume_id: vol.id, secrets },
    holds: [vol],
    onOk() {
      world.volumes.delete(vol.id);
      return null;
    },
    onRepeat: none,
  };
}

export function expandVolume(vol: VolumeModel): Intent {
  const to = Math.min(vol.capacity + vol.kind.expandStepBytes, vol.kind.maxBytes);
  return {
    rpc: 'ControllerExpandVolume',
    service: 'controller',
    what: `ControllerExpandVolume ${vol.id} to ${to}`,
    request: { volume_id: vol.id, capacity_range: { required_bytes: String(to) }, secrets, volume_capability: capabilityOf(vol.kind) },
    holds: [vol],
    onOk(res) {
      if (res['capacity_bytes'] !== String(to)) return `${this.what}: answered capacity ${String(res['capacity_bytes'])}`;
      vol.capacity = to;
      return null;
    },
    onRepeat(res) {
      return res['capacity_bytes'] === String(to) ? null : `${this.what} repeated: answered capacity ${String(res['capacity_bytes'])}`;
    },
  };
}

export function modifyVolume(vol: VolumeModel, value: string): Intent {
  return {
    rpc: 'ControllerModifyVolume',
    service: 'controller',
    what: `ControllerModifyVolume ${vol.id} iops=${value}`,
    request: { volume_id: vol.id, mutable_parameters: { iops: value }, secrets },
    holds: [vol],
    onOk() {
      vol.mutable = { ...vol.mutable, iops: value };
      return null;
    },
    onRepeat: none,
  };
}

export function createSnapshot(world: World, vol: VolumeModel): Intent {
  const name = world.nextName('snap');
  let id: string | null = null;
  return {
    rpc: 'CreateSnapshot',
    service: 'controller',
    what: `CreateSnapshot ${name} of ${vol.id}`,
    request: { name, source_volume_id: vol.id, parameters: {}, secrets },
    holds: [vol],
    onOk(res) {
      const snap = res['snapshot'] as { snapshot_id: string; size_bytes: string; ready_to_use: boolean; source_volume_id: string };
      if (!snap.ready_to_use) return `${this.what}: ready_to_use is false`;
      if (snap.source_volume_id !== vol.id) return `${this.what}: source_volume_id ${snap.source_volume_id}`;
      if (snap.size_bytes !== String(vol.capacity)) return `${this.what}: size_bytes ${snap.size_bytes}, volume is ${vol.capacity}`;
      id = snap.snapshot_id;
      world.addSnapshot({ name, id, sourceVolumeId: vol.id, kind: vol.kind, sizeBytes: vol.capacity, data: copyData(vol.data), busy: false });
      return null;
    },
    onRepeat(res) {
      const snap = res['snapshot'] as { snapshot_id: string };
      return snap.snapshot_id === id ? null : `${this.what} repeated: answered snapshot ${snap.snapshot_id}, first answer was ${id}`;
    },
  };
}

export function deleteSnapshot(world: World, snap: SnapshotModel): Intent {
  return {
    rpc: 'DeleteSnapshot',
    service: 'controller',
    what: `DeleteSnapshot ${snap.id}`,
    request: { snapshot_id: snap.id, secrets },
    holds: [snap],
    onOk() {
      world.snapshots.delete(snap.id);
      return null;
    },
    onRepeat: none,
  };
}

export function controllerPublish(vol: VolumeModel, nodeId: string): Intent {
  return {
    rpc: 'ControllerPublishVolume',
    service: 'controller',
    what: `ControllerPublishVolume ${vol.id}`,
    request: { volume_id: vol.id, node_id: nodeId, volume_capability: capabilityOf(vol.kind), readonly: false, secrets },
    holds: [vol],
    onOk() {
      vol.attached = true;
      return null;
    },
    onRepeat: none,
  };
}

export function controllerUnpublish(vol: VolumeModel, nodeId: string): Intent {
  return {
    rpc: 'ControllerUnpublishVolume',
    service: 'controller',
    what: `ControllerUnpublishVolume ${vol.id}`,
    request: { volume_id: vol.id, node_id: nodeId, secrets },
    holds: [vol],
    onOk() {
      vol.attached = false;
      return null;
    },
    onRepeat: none,
  };
}

export function nodeStage(world: World, vol: VolumeModel): Intent {
  const stagingPath = vol.stagingPath ?? world.paths.stagingPath(vol.kind, vol.name);
  return {
    rpc: 'NodeStageVolume',
    service: 'node',
    what: `NodeStageVolume ${vol.id} at ${stagingPath}`,
    request: { volume_id: vol.id, staging_target_path: stagingPath, volume_capability: capabilityOf(vol.kind), secrets, publish_context: {}, volume_context: {} },
    holds: [vol],
    onOk() {
      vol.stagingPath = stagingPath;
      return null;
    },
    onRepeat: none,
  };
}

export function nodeUnstage(vol: VolumeModel): Intent {
  const stagingPath = vol.stagingPath!;
  return {
    rpc: 'NodeUnstageVolume',
    service: 'node',
    what: `NodeUnstageVolume ${vol.id} at ${stagingPath}`,
    request: { volume_id: vol.id, staging_target_path: stagingPath },
    holds: [vol],
    onOk() {
      vol.stagingPath = null;
      return null;
    },
    onRepeat: none,
  };
}

export function nodePublish(world: World, vol: VolumeModel, readonly: boolean, podUid = world.nextName('pod')): Intent {
  const target = world.paths.targetPath(vol.kind, vol.name, podUid);
  return {
    rpc: 'NodePublishVolume',
    service: 'node',
    what: `NodePublishVolume ${vol.id} at ${target}${readonly ? ' read-only' : ''}`,
    request: {
      volume_id: vol.id,
      staging_target_path: vol.stagingPath,
      target_path: target,
      // As kubelet does for a pod that mounts a claim readOnly: the PV's access mode, and readonly set.
      volume_capability: capabilityOf(vol.kind),
      readonly,
      secrets,
      publish_context: {},
      volume_context: {},
    },
    holds: [vol],
    onOk() {
      vol.targets.set(target, { readonly, podUid });
      return null;
    },
    onRepeat: none,
  };
}

export function nodeUnpublish(vol: VolumeModel, target: string): Intent {
  return {
    rpc: 'NodeUnpublishVolume',
    service: 'node',
    what: `NodeUnpublishVolume ${vol.id} at ${target}`,
    request: { volume_id: vol.id, target_path: target },
    holds: [vol],
    onOk() {
      vol.targets.delete(target);
      return null;
    },
    onRepeat: none,
  };
}
