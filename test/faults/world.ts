import { createHash } from 'node:crypto';
import path from 'node:path';
import type { DataKey, VolumeKindSpec } from './kinds';

/** One acknowledged write and the checksum its bytes must keep. */
export interface DataItem {
  key: DataKey;
  length: number;
  sha256: string;
}

/**
 * What the CO has been told and must find again: only acknowledged objects are here. While an intent is pending its
 * objects are `busy`, so no other intent touches them until the driver has given a final answer.
 */
export interface VolumeModel {
  name: string;
  id: string;
  kind: VolumeKindSpec;
  capacity: number;
  mutable: Record<string, string>;
  data: Map<string, DataItem>;
  attached: boolean;
  stagingPath: string | null;
  targets: Map<string, { readonly: boolean; podUid: string }>;
  busy: boolean;
}

export interface SnapshotModel {
  name: string;
  id: string;
  sourceVolumeId: string;
  kind: VolumeKindSpec;
  sizeBytes: number;
  data: Map<string, DataItem>;
  busy: boolean;
}

export function dataKeyId(key: DataKey): string {
  return 'file' in key ? `file:${key.file}` : `slot:${key.slot}`;
}

/** Paths shaped like the ones kubelet uses under its root directory. */
export class KubeletPaths {
  constructor(readonly root: string) {}

  stagingPath(kind: VolumeKindSpec, volumeName: string): string {
    if (kind.accessType === 'block') return path.join(this.root, 'plugins/kubernetes.io/csi/volumeDevices/staging', volumeName);
    const digest = createHash('sha256').update(volumeName).digest('hex');
    return path.join(this.root, 'plugins/kubernetes.io/csi/hostpath.csi.dev', digest, 'globalmount');
  }

  targetPath(kind: VolumeKindSpec, volumeName: string, podUid: string): string {
    if (kind.accessType === 'block') return path.join(this.root, 'plugins/kubernetes.io/csi/volumeDevices/publish', volumeName, podUid);
    return path.join(this.root, 'pods', podUid, 'volumes/kubernetes.io~csi', volumeName, 'mount');
  }
}

export class World {
  readonly volumes = new Map<string, VolumeModel>();
  readonly snapshots = new Map<string, SnapshotModel>();
  private counter = 0;

  constructor(readonly paths: KubeletPaths) {}

  nextName(prefix: string): string {
    return `${prefix}-${String(++this.counter).padStart(5, '0')}`;
  }

  idle<T extends { busy: boolean }>(items: Iterable<T>): T[] {
    return [...items].filter((x) => !x.busy);
  }

  addVolume(v: VolumeModel): void {
    this.volumes.set(v.id, v);
  }

  addSnapshot(s: SnapshotModel): void {
    this.snapshots.set(s.id, s);
  }
}

export function copyData(data: ReadonlyMap<string, DataItem>): Map<string, DataItem> {
  return new Map([...data].map(([k, v]) => [k, { ...v }]));
}
