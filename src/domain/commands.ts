/**
 * What validation hands the domain: one command per mutating RPC, plain data, no wire (generated) types: an
 * architecture test checks it. src/validate builds them; volumes, snapshots and node act on them.
 */
import type { Capability } from './capability';
import type { SizeRange } from './size-range';
import type { TopologyRequirement } from './topology';
import type { ContentSource, ImageFsType } from './volume-kind';

export interface CreateVolumeCommand {
  name: string;
  range: SizeRange;
  capabilities: Capability[];
  parameters: Record<string, string>;
  mutableParameters: Record<string, string>;
  topology: TopologyRequirement | null;
  source: ContentSource | null;
}

export interface ControllerPublishCommand {
  volumeId: string;
  nodeId: string;
  capability: Capability;
  readonly: boolean;
}

export interface CreateSnapshotCommand {
  name: string;
  sourceVolumeId: string;
  parameters: Record<string, string>;
}

export interface CreateGroupCommand {
  name: string;
  sourceVolumeIds: string[];
  parameters: Record<string, string>;
}

export interface StageCommand {
  volumeId: string;
  stagingPath: string;
  capability: Capability;
  /** What the PV's volumeAttributes say; read only for static volumes (src/volumes/static.ts). */
  volumeContext: Record<string, string>;
}

export interface NodePublishCommand {
  volumeId: string;
  targetPath: string;
  stagingPath: string;
  capability: Capability;
  readonly: boolean;
}

export interface EphemeralPublishCommand {
  volumeId: string;
  targetPath: string;
  capability: Capability;
  readonly: boolean;
  sizeBytes: bigint;
  /** `sizeLimit: image`: the filesystem of the inline volume's own image; null for a plain directory. */
  fsType: ImageFsType | null;
}

/** Kubernetes marks CSI inline (ephemeral) volumes with this volume_context key. */
export const EPHEMERAL_CONTEXT_KEY = 'csi.storage.k8s.io/ephemeral';
/** The pod's volumeAttributes key that sizes an inline volume (Kubernetes quantity, e.g. 256Mi). */
export const EPHEMERAL_SIZE_KEY = 'size';
/** The pod's volumeAttributes key naming the filesystem of an inline volume with `sizeLimit: image`. */
export const EPHEMERAL_FS_TYPE_KEY = 'fsType';
