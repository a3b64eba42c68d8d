/** A volume capability as the domain sees it (CSI VolumeCapability after validation). */
export const ACCESS_MODES = [
  'SINGLE_NODE_WRITER',
  'SINGLE_NODE_READER_ONLY',
  'MULTI_NODE_READER_ONLY',
  'MULTI_NODE_SINGLE_WRITER',
  'MULTI_NODE_MULTI_WRITER',
  'SINGLE_NODE_SINGLE_WRITER',
  'SINGLE_NODE_MULTI_WRITER',
] as const;

export type AccessMode = (typeof ACCESS_MODES)[number];
export type AccessType = 'mount' | 'block';

/** A volume capability after validation: the oneof resolved, the enum known. */
export interface Capability {
  accessType: AccessType;
  mode: AccessMode;
  fsType: string;
  mountFlags: string[];
  mountGroup: string;
}

export function isReadOnlyMode(mode: AccessMode): boolean {
  return mode === 'SINGLE_NODE_READER_ONLY' || mode === 'MULTI_NODE_READER_ONLY';
}
