/**
 * How a volume's bytes are kept. Raw block volumes: 'block', a sparse image on a loop device. Filesystem volumes,
 * chosen by the StorageClass parameter sizeLimit (src/domain/kind-choice.ts): 'dir', a plain directory (nothing
 * enforced); 'quota', a directory under a project quota; 'image', a sparse image holding its own filesystem,
 * loop-mounted at NodeStage.
 */
export type VolumeKind = 'dir' | 'block' | 'quota' | 'image';
export const VOLUME_KINDS: readonly VolumeKind[] = ['dir', 'block', 'quota', 'image'];

/** Filesystems an 'image' volume can carry. */
export const IMAGE_FS_TYPES = ['ext4', 'xfs'] as const;
export type ImageFsType = (typeof IMAGE_FS_TYPES)[number];

/** Where a volume's initial data came from (CSI VolumeContentSource). */
export interface ContentSource {
  type: 'snapshot' | 'volume';
  id: string;
}
