import { statfs } from 'node:fs/promises';

export interface FsStats {
  /** Bytes an unprivileged writer can still use. */
  availableBytes: bigint;
  totalBytes: bigint;
  totalInodes: bigint;
  freeInodes: bigint;
}

export type StatFs = (path: string) => Promise<FsStats>;

export const systemStatFs: StatFs = async (p) => {
  const s = await statfs(p, { bigint: true });
  return { availableBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize, totalInodes: s.files, freeInodes: s.ffree };
};
